// The live view without a browser: diagrams drawn from the machine definitions, the HTTP API's
// auth, and the transition stream (SSE) resuming after a lost connection with nothing missed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { filesystemMachine } from '../machines/filesystem.js';
import { jobMachine } from '../machines/job.js';
import { partitionMachine } from '../machines/partition.js';
import { pruningMachine } from '../machines/pruning.js';
import { replicationMachine } from '../machines/replication.js';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import type { TransitionEvent } from '../src/engine/types.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { startReplication } from '../src/replication/runs.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { activeStateIds, diagramOf } from '../src/ui/diagram.js';
import { layoutDiagram } from '../src/ui/diagram-layout.js';
import { LISTED_KINDS, listMachines, streamIdAfter } from '../src/ui/machines.js';
import { idsOfStateName } from '../src/ui/web/diagram-svg.js';
import { filterRows } from '../src/ui/web/machine-list.js';
import { createLogger } from '../src/util/logger.js';
import { counterMachine } from './fixtures/machines.js';
import { makeTestCertificates } from './helpers/certs.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { runProcess } from './helpers/processes.js';
import { countRequests, startTestRedis } from './helpers/redis.js';
import { fastRetry, tempDir } from './helpers/replication.js';
import { serve, stop, type Served } from './helpers/serve.js';

const MACHINES: Record<string, AnyStateMachine> = {
  replication: replicationMachine, filesystem: filesystemMachine, job: jobMachine, pruning: pruningMachine, partition: partitionMachine,
};

/** every state path of a machine config, e.g. `replication.Planning`, walked independently of diagram.ts */
function configStates(id: string, config: { states?: Record<string, unknown> }): string[] {
  return Object.entries(config.states ?? {}).flatMap(([k, v]) => [`${id}.${k}`, ...configStates(`${id}.${k}`, v as { states?: Record<string, unknown> })]);
}

describe('ui: diagrams from the machine definitions', () => {
  it('has every state, transition, delay and invoke of the replication machine', () => {
    const d = diagramOf('replication', replicationMachine);
    assert.equal(d.rootId, 'replication');
    const ids = d.states.map((s) => s.id);
    assert.deepEqual(ids.slice(1).sort(), configStates('replication', replicationMachine.config as never).sort());
    const planning = d.states.find((s) => s.key === 'Planning')!;
    assert.equal(planning.initial, true);
    assert.deepEqual(planning.invokes, ['plan']);
    const edge = (from: string, to: string, label: string) => d.transitions.find((t) => t.source === `replication.${from}` && t.target === `replication.${to}` && t.label === label);
    assert.equal(edge('Planning', 'Working', 'done: plan')?.event, 'xstate.done.actor.plan');
    assert.equal(edge('Planning', 'PermanentError', 'error: plan')?.guard, 'isPermanentFailure');
    assert.equal(edge('PlanningError', 'Planning', 'after planningBackoff')?.event, 'xstate.after.planningBackoff.replication.PlanningError');
    assert.ok(edge('PlanningError', 'Planning', 'ferry.wakeup'));
    assert.equal(edge('Working', 'Completed', 'always')?.trigger, 'always');
    assert.ok(d.states.find((s) => s.key === 'Working')!.handles.includes('done: *'));
    assert.ok(d.states.find((s) => s.key === 'Working')!.handles.includes('ferry.child.state'));
    assert.equal(d.states.find((s) => s.key === 'Completed')!.type, 'final');
    // the machine's own reset, from any state
    assert.ok(d.transitions.some((t) => t.source === 'replication' && t.target === 'replication.PermanentError' && t.label === 'ferry.reset'));
  });

  for (const [kind, machine] of Object.entries(MACHINES)) {
    it(`lays out the ${kind} statechart with every state inside its parent and every transition routed`, async () => {
      const d = await layoutDiagram(diagramOf(kind, machine));
      assert.deepEqual(d.states.slice(1).map((s) => s.id).sort(), configStates(d.rootId, machine.config as never).sort());
      const byId = new Map(d.states.map((s) => [s.id, s]));
      for (const s of d.states) {
        assert.ok(s.width > 0 && s.height > 0, s.id);
        assert.ok(s.x >= 0 && s.y >= 0 && s.x + s.width <= d.width + 0.5 && s.y + s.height <= d.height + 0.5, `${s.id} inside the drawing`);
        const p = s.parent ? byId.get(s.parent)! : null;
        if (p) assert.ok(s.x >= p.x && s.y >= p.y && s.x + s.width <= p.x + p.width + 0.5 && s.y + s.height <= p.y + p.height + 0.5, `${s.id} inside ${p.id}`);
      }
      assert.ok(d.transitions.length > 0);
      for (const t of d.transitions) assert.ok(t.points.length >= 2, `${t.source} -> ${t.target} (${t.label}) routed`);
    });
  }

  it('names the active states of a snapshot value and of a state name alike', () => {
    assert.deepEqual(activeStateIds('job', 'Replicating'), ['job.Replicating']);
    assert.deepEqual(activeStateIds('m', { A: { B: 'C' } }), ['m.A', 'm.A.B', 'm.A.B.C']);
    assert.deepEqual(idsOfStateName('m', 'A.B.C'), activeStateIds('m', { A: { B: 'C' } }));
  });

  it('orders stream ids by time, then sequence', () => {
    assert.equal(streamIdAfter('2-0', '1-5'), true);
    assert.equal(streamIdAfter('1-5', '1-4'), true);
    assert.equal(streamIdAfter('1-4', '1-4'), false);
    assert.equal(streamIdAfter('1-0', '0'), true);
  });

  it('filters the machine list by kind, state, job, time and text', () => {
    const now = 1_000_000_000;
    const row = (id: string, kind: string, state: string, createdAt: number) => ({ id, kind, state, status: 'active' as const, createdAt, stateSince: createdAt, parent: null });
    const rows = [row('nightly.1', 'job', 'Replicating', now - 1000), row('r-1', 'replication', 'Working', now - 3_600_000), row('p-1', 'partition', 'Failed', now)];
    const f = { kind: '', state: '', job: '', text: '', since: '' };
    assert.equal(filterRows(rows, f, now).length, 3);
    assert.deepEqual(filterRows(rows, { ...f, kind: 'job' }, now).map((r) => r.id), ['nightly.1']);
    assert.deepEqual(filterRows(rows, { ...f, state: 'Failed' }, now).map((r) => r.id), ['p-1']);
    assert.deepEqual(filterRows(rows, { ...f, job: 'nightly' }, now).map((r) => r.id), ['nightly.1']);
    assert.deepEqual(filterRows(rows, { ...f, since: '10' }, now).map((r) => r.id), ['nightly.1', 'p-1']);
    assert.deepEqual(filterRows(rows, { ...f, text: 'work' }, now).map((r) => r.id), ['r-1']);
  });
});

describe('ui: the machine list', () => {
  it('reads the listed machines\' list fields in one pipeline, not one request per machine', async () => {
    const redis = await startTestRedis();
    const engine = openTestEngine(redis.url, {
      prefix: `uilist${process.pid}`, logger: createLogger({ level: 'warn', pretty: false }),
      registry: { machines: { job: { machine: counterMachine, version: '1' }, replication: { machine: counterMachine, version: '1' } }, effects: {} },
    });
    try {
      const ids = ['nightly.1', 'nightly.2', 'nightly.3', 'run-1', 'run-2', 'run-3'];
      for (const id of ids) await engine.start(id.startsWith('run-') ? 'replication' : 'job', id, {});
      const counter = countRequests(engine.connection);
      const rows = await listMachines(engine, 100);
      counter.stop();
      assert.equal(counter.requests(), LISTED_KINDS.length, 'one request per listed kind, none per machine');
      assert.equal(counter.pipelined(), ids.length);
      const records = await Promise.all(ids.map((id) => engine.get(id)));
      assert.deepEqual([...rows].sort((a, b) => a.id.localeCompare(b.id)), records.map((r) => ({
        id: r!.id, kind: r!.kind, state: 'Counting', status: 'active', createdAt: r!.createdAt, stateSince: r!.stateSince, parent: null,
      })));
      assert.ok(rows.every((r, i) => r.createdAt > 0 && (i === 0 || r.createdAt <= rows[i - 1].createdAt)), 'newest first');
    } finally {
      await engine.close();
      await redis.stop();
    }
  });
});

/** Reads an SSE response until `enough` says so (or the stream ends); returns the events read. */
async function readEvents(res: Response, enough: (events: TransitionEvent[]) => boolean, abort: AbortController): Promise<TransitionEvent[]> {
  const events: TransitionEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    while (!enough(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (/^event: transition$/m.test(block) && data) events.push({ ...(JSON.parse(data) as TransitionEvent), id });
      }
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
  abort.abort();
  return events;
}

describe('ui: ferry serve --ui', () => {
  let redis: EmbeddedRedis;
  let served: Served | null = null;
  let engine: TestEngine | null = null;
  let base = '';
  const d = tempDir('ui');
  const prefix = `ui${process.pid}x${Date.now()}`;
  const token = 'ui-test-token';
  const auth = { authorization: `Bearer ${token}` };

  before(async () => {
    redis = await startTestRedis();
    writeFileSync(join(d.path, 'token'), `${token}\n`);
    const port = await freePort();
    served = await serve(['--ui', `127.0.0.1:${port}`, '--token-file', join(d.path, 'token'), '--no-metrics', '--key-prefix', prefix], { REDIS_URL: redis.url });
    base = `http://127.0.0.1:${port}`;
    assert.match(served.out(), new RegExp(`^live view on ${base}/$`, 'm'));
    engine = openTestEngine(redis.url, { prefix, registry: replicationRegistry({ metrics: new FerryMetrics() }), logger: createLogger({ level: 'warn', pretty: false }) });
  });
  after(async () => {
    await engine?.close();
    if (served) assert.equal(await stop(served), 0, served.err());
    await redis.stop();
    d.remove();
  });

  it('refuses without the token, with a page that says so; takes a bearer header or the login form\'s cookie', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 401);
    assert.match(await page.text(), /not signed in[\s\S]*No token was given[\s\S]*<form method="post" action="\/login">/);
    assert.equal((await fetch(`${base}/api/overview`)).status, 401);
    assert.equal((await fetch(`${base}/queues/`)).status, 401);
    assert.equal((await fetch(`${base}/api/events`)).status, 401);
    assert.equal((await fetch(`${base}/api/overview`, { headers: { authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await fetch(`${base}/api/overview`, { headers: { cookie: 'ferry_ui_token=nope' } })).status, 401);

    const wrong = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }), redirect: 'manual' });
    assert.equal(wrong.status, 401);
    const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
    assert.equal(login.status, 303);
    const cookie = login.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const withCookie = await fetch(`${base}/api/overview`, { headers: { cookie: cookie.split(';')[0] } });
    assert.equal(withCookie.status, 200);
    assert.deepEqual(Object.keys(await withCookie.json()).sort(), ['jobs', 'logId', 'partitions', 'queues', 'runs', 'targets']);

    const app = await fetch(`${base}/`, { headers: auth });
    assert.equal(app.status, 200);
    assert.match(await app.text(), /<script type="module" src="\/assets\/app.js">/);
    assert.equal((await fetch(`${base}/assets/app.js`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${base}/assets/../../package.json`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${base}/queues/api/queues`, { headers: auth })).status, 200);
  });

  it('answers bad input with the field at fault, and actions only as JSON', async () => {
    const post = (path: string, body: unknown, type = 'application/json') => fetch(`${base}${path}`, { method: 'POST', headers: { ...auth, 'content-type': type }, body: JSON.stringify(body) });
    const form = await post('/api/jobs/x/run', {}, 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415);
    const noSignal = await post('/api/jobs/x/signal', {});
    assert.equal(noSignal.status, 400);
    assert.match((await noSignal.json()).error, /^signal: required/);
    const noJob = await post('/api/jobs/nosuch/run', {});
    assert.equal(noJob.status, 404);
    const noPartition = await post('/api/partitions/reset', { storage: 's' });
    assert.equal(noPartition.status, 400);
    assert.match((await noPartition.json()).error, /partition/);
    const badKind = await fetch(`${base}/api/events?kind=nope`, { headers: auth });
    assert.equal(badKind.status, 400);
    const kindError = await badKind.json();
    assert.match(kindError.error, /^kind: "nope" is not a machine kind/);
    assert.equal(kindError.field, 'kind');
    // checked by src/api/request-fields.ts, as the gRPC API checks them
    const badAfter = await fetch(`${base}/api/events?after=nope`, { headers: auth });
    assert.equal(badAfter.status, 400);
    assert.match((await badAfter.json()).error, /^after: "nope" is not an event id/);
    const badResume = await fetch(`${base}/api/events`, { headers: { ...auth, 'last-event-id': '1-2-3' } });
    assert.equal((await badResume.json()).field, 'Last-Event-ID');
    const badName = await post('/api/jobs/no%20such!/run', {});
    assert.equal(badName.status, 400);
    assert.equal((await badName.json()).field, 'name');
    const longSignal = await post('/api/jobs/x/signal', { signal: 'w'.repeat(40) });
    assert.match((await longSignal.json()).error, /^signal: must be at most 32 characters/);
    const badStorage = await post('/api/partitions/reset', { storage: '../s', partition: 'p' });
    assert.equal(badStorage.status, 400);
    assert.equal((await badStorage.json()).field, 'storage');
    const badRun = await fetch(`${base}/api/runs/${encodeURIComponent('no such run')}`, { headers: auth });
    assert.equal(badRun.status, 400);
    assert.equal((await badRun.json()).field, 'id');
    assert.equal((await fetch(`${base}/api/machines/nosuch`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${base}/api/diagrams/nosuch`, { headers: auth })).status, 404);
  });

  it('streams transitions and, reconnected with Last-Event-ID, resumes with none missed nor repeated', async () => {
    const sender = createDirDriver(join(d.path, 's'));
    mkdirSync(join(d.path, 's', 'data'), { recursive: true });
    writeFileSync(join(d.path, 's', 'data', 'f.txt'), 'x'.repeat(1000));
    await sender.snapshot(['data'], 's1');
    const from = (await (await fetch(`${base}/api/overview`, { headers: auth })).json()).logId as string;

    // first connection: a few events of the first run, then the connection drops
    const first = new AbortController();
    const res1 = await fetch(`${base}/api/events?after=${from}`, { headers: auth, signal: first.signal });
    assert.equal(res1.status, 200);
    assert.match(res1.headers.get('content-type') ?? '', /^text\/event-stream/);
    const run1 = await startReplication(engine!, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r1`, retry: fastRetry });
    const seen1 = await readEvents(res1, (e) => e.length >= 2, first);
    assert.ok(seen1.length >= 2);

    // while nobody listens, two more runs go all the way
    const run2 = await startReplication(engine!, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r2`, retry: fastRetry });
    for (const id of [run1, run2]) await engine!.waitFor(id, (r) => r.status !== 'active', { timeoutMs: 60_000 });
    const all = await engine!.transitions.read(from, 10_000);
    assert.ok(all.some((e) => e.machineId === run2 && e.to === 'Completed'));

    // reconnect as EventSource does: the last id seen in the header (it wins over ?after=)
    const second = new AbortController();
    const res2 = await fetch(`${base}/api/events?after=${from}`, { headers: { ...auth, 'last-event-id': seen1.at(-1)!.id! }, signal: second.signal });
    const lastId = all.at(-1)!.id!;
    const seen2 = await readEvents(res2, (e) => e.some((x) => x.id === lastId), second);
    const got = [...seen1, ...seen2].map((e) => `${e.id} ${e.machineId} ${e.to}`);
    assert.deepEqual(got, all.map((e) => `${e.id} ${e.machineId} ${e.to}`));
  });

  it('serves a machine\'s page data: state, context, children and its history up to the log id it was read at', async () => {
    mkdirSync(join(d.path, 's3', 'data'), { recursive: true });
    await createDirDriver(join(d.path, 's3')).snapshot(['data'], 's1');
    const run = await startReplication(engine!, { sender: `dir:${d.path}/s3`, receiver: `dir:${d.path}/r3`, retry: fastRetry });
    await engine!.waitFor(run, (r) => r.status !== 'active', { timeoutMs: 60_000 });
    const runs = [run];
    const res = await fetch(`${base}/api/machines/${runs[0]}`, { headers: auth });
    assert.equal(res.status, 200);
    const m = await res.json();
    assert.equal(m.kind, 'replication');
    assert.equal(m.state, 'Completed');
    assert.ok(m.children.some((c: { instanceId: string | null }) => c.instanceId === `${runs[0]}.fs-0`));
    const log = (await engine!.transitions.read('0', 10_000)).filter((e) => e.machineId === runs[0]);
    assert.deepEqual(m.history.map((e: TransitionEvent) => e.id), log.map((e) => e.id));
    assert.deepEqual(m.history.map((e: TransitionEvent) => e.to), ['Planning', 'Working', 'Completed']);
    assert.ok(!streamIdAfter(log.at(-1)!.id!, m.logId), `${log.at(-1)!.id} after ${m.logId}`);
    const list = await (await fetch(`${base}/api/machines`, { headers: auth })).json();
    assert.ok(list.machines.some((r: { id: string; state: string }) => r.id === runs[0] && r.state === 'Completed'));
  });
});

/** GET over https with the given CA (and client certificate): the status, or the error's message. */
function httpsGet(url: string, opts: { ca: string; cert?: string; key?: string; token?: string }): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, {
      ca: readFileSync(opts.ca), cert: opts.cert ? readFileSync(opts.cert) : undefined, key: opts.key ? readFileSync(opts.key) : undefined,
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

describe('ui: ferry serve --ui flags and TLS', () => {
  let redis: EmbeddedRedis;
  const d = tempDir('ui-tls');
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); d.remove(); });

  it('needs --token-file, and names the flag of a bad address', async () => {
    const ferry = (...args: string[]) => runProcess(process.execPath, ['bin/ferry.mjs', 'serve', '--no-metrics', ...args], { env: { REDIS_URL: redis.url }, timeoutMs: 60_000 });
    const noToken = await ferry('--ui', '0');
    assert.equal(noToken.code, 2, noToken.stderr);
    assert.match(noToken.stderr, /--ui needs --token-file/);
    const bad = await ferry('--ui', 'nowhere', '--token-file', '/dev/null');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--ui "nowhere": expected PORT, HOST:PORT/);
  });

  it('serves https with --tls-cert, and only to a client certificate --tls-client-ca signed', async () => {
    const certs = makeTestCertificates(d.path);
    writeFileSync(join(d.path, 'token'), 'tls-token\n');
    const port = await freePort();
    const served = await serve(['--ui', String(port), '--token-file', join(d.path, 'token'), '--no-metrics', '--key-prefix', `uitls${process.pid}`,
      '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-client-ca', certs.ca], { REDIS_URL: redis.url });
    try {
      const url = `https://127.0.0.1:${port}/api/overview`;
      assert.match(served.out(), new RegExp(`^live view on https://127\\.0\\.0\\.1:${port}/$`, 'm'));
      assert.equal(await httpsGet(url, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, token: 'tls-token' }), 200);
      assert.equal(await httpsGet(url, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }), 401);
      assert.equal(typeof await httpsGet(url, { ca: certs.ca, token: 'tls-token' }), 'string', 'no client certificate: no connection');
      assert.equal(typeof await httpsGet(url, { ca: certs.ca, cert: certs.otherClientCert, key: certs.otherClientKey, token: 'tls-token' }), 'string');
    } finally {
      assert.equal(await stop(served), 0, served.err());
    }
  });
});
