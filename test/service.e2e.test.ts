import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { RemoteOrchestrator } from '../src/api/orchestrator-client.js';
import { newHealthClient, newOrchestratorClient } from '../src/grpc/proto.js';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { TransitionLog } from '../src/engine/transition-log.js';
import type { TransitionEvent } from '../src/engine/types.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { Redis } from 'ioredis';
import { until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';
import { sample } from './helpers/metrics.js';

// The whole service, as operators run it: two storage agents, `ferry serve` (gRPC API, metrics,
// inspector, workers) and two more `ferry worker` processes, all separate processes on loopback.

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TOKEN = 'service-test-token-9876543210';
const PREFIX = 'svc';
const LOCK_MS = '4000';

interface WsClient { readyState: number; on(event: 'message', fn: (data: Buffer) => void): void; terminate(): void }
const inspectPackage = createRequire(import.meta.url).resolve('@statelyai/inspect');
const WebSocket = createRequire(inspectPackage)('ws') as new (url: string) => WsClient;

interface Proc { child: ChildProcess; out(): string; err(): string; exited: Promise<void> }

/** `ferry <args>` as its own process; resolves once stdout or stderr matches `ready`. */
async function ferry(args: string[], env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, ['bin/ferry.mjs', ...args], { cwd: ROOT, env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => { err += d; if (err.length > 200_000) err = err.slice(-100_000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    until(`ferry ${args[0]} to be ready`, () => ready.test(out) || ready.test(err), 30_000),
    exited.then(() => { throw new Error(`ferry ${args.join(' ')} exited early: ${err}`); }),
  ]);
  return { child, out: () => out, err: () => err, exited };
}

async function stop(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(t);
}


function unary<Res>(fn: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<{ err: grpc.ServiceError | null; res?: Res }> {
  return new Promise((resolve) => fn((err, res) => resolve({ err, res })));
}

async function allTransitions(redisUrl: string): Promise<TransitionEvent[]> {
  const r = new Redis(redisUrl);
  try {
    const log = new TransitionLog(r, `${PREFIX}:transitions`);
    const out: TransitionEvent[] = [];
    for (let after = '0'; ;) {
      const page = await log.read(after, 1000);
      if (!page.length) return out;
      out.push(...page);
      after = page[page.length - 1].id!;
    }
  } finally {
    r.disconnect();
  }
}

describe('the service: agents, orchestrator and workers as separate processes', () => {
  let redis: EmbeddedRedis;
  let d: { path: string; remove(): void };
  let agents: Proc[] = [];
  let served: Proc | undefined;
  let workers: Proc[] = [];
  let ws: WsClient | undefined;
  let api: RemoteOrchestrator | undefined;
  const ports = { a: 0, b: 0, c: 0, grpc: 0, metrics: 0, inspect: 0 };
  let env: Record<string, string>;
  let tokenFile: string;

  const startAgent = (name: 'a' | 'b' | 'c') => ferry(
    ['agent', '--listen', `127.0.0.1:${ports[name]}`, '--allow', `dir:${d.path}/${name}`, '--token-file', tokenFile], env, /agent on grpc:\/\//,
  );

  before(async () => {
    d = tempDir('service');
    for (const n of ['a', 'b', 'c']) mkdirSync(join(d.path, n));
    tokenFile = join(d.path, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    redis = await startTestRedis();
    env = { REDIS_URL: redis.url, FERRY_TOKEN_FILE: tokenFile };
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();

    // the sender: 3 filesystems with 4 snapshots each, 4 MiB of fresh data per snapshot
    const sender = createDirDriver(`${d.path}/a`);
    for (const fs of ['f0', 'f1', 'f2']) mkdirSync(join(d.path, 'a', fs));
    for (let i = 0; i < 4; i++) {
      for (const fs of ['f0', 'f1', 'f2']) writeFileSync(join(d.path, 'a', fs, `part${i}.bin`), randomBytes(4 << 20));
      await sender.snapshot(['f0', 'f1', 'f2'], `s${i}`);
    }

    agents = await Promise.all([startAgent('a'), startAgent('b'), startAgent('c')]);
    const common = ['--key-prefix', PREFIX, '--lock-duration-ms', LOCK_MS, '--stalled-interval-ms', LOCK_MS];
    served = await ferry(['serve', ...common, '--grpc', `127.0.0.1:${ports.grpc}`, '--token-file', tokenFile,
      '--metrics', `127.0.0.1:${ports.metrics}`, '--inspect', String(ports.inspect), '--concurrency', '2'], env, /ferry: serving/);
    workers = await Promise.all([1, 2].map(() => ferry(['worker', ...common, '--concurrency', '2'], env, /worker running/)));
    ws = new WebSocket(`ws://127.0.0.1:${ports.inspect}`);
    api = new RemoteOrchestrator({ address: `127.0.0.1:${ports.grpc}`, token: TOKEN });
  });

  after(async () => {
    ws?.terminate();
    await api?.close();
    await Promise.all([...workers, served].map((p) => stop(p)));
    await Promise.all(agents.map((p) => stop(p)));
    await redis?.stop();
    d?.remove();
  });

  it('refuses calls without the token and names the field of a malformed request', async () => {
    const raw = newOrchestratorClient(`127.0.0.1:${ports.grpc}`);
    try {
      const none = await unary((cb) => raw.listJobs({}, new grpc.Metadata(), cb));
      assert.equal(none.err?.code, grpc.status.UNAUTHENTICATED);
      const wrong = new RemoteOrchestrator({ address: `127.0.0.1:${ports.grpc}`, token: 'not-the-token' });
      await assert.rejects(wrong.listRuns(), (e: Error & { code?: string }) => e.code === 'UNAUTHENTICATED');
      await wrong.close();

      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${TOKEN}`);
      const bad = await unary((cb) => raw.createJob({ spec: { name: 'has space', sender: 'dir:/x', receivers: ['dir:/y'] } }, md, cb));
      assert.equal(bad.err?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(bad.err!.details, /^name: /);
      const noReceivers = await unary((cb) => raw.createJob({ spec: { name: 'ok', sender: 'dir:/x' } }, md, cb));
      assert.equal(noReceivers.err?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(noReceivers.err!.details, /^receivers: /);
      const badId = await new Promise<grpc.ServiceError>((resolve) => {
        const s = raw.watchTransitions({ afterId: 'yesterday' }, md);
        s.on('data', () => {});
        s.on('error', (e) => resolve(e as grpc.ServiceError));
      });
      assert.equal(badId.code, grpc.status.INVALID_ARGUMENT);
      assert.match(badId.details, /^after_id: /);
      const missing = await unary((cb) => raw.getRun({ id: 'no-such-run' }, md, cb));
      assert.equal(missing.err?.code, grpc.status.NOT_FOUND);
      // health answers without the token
      const health = newHealthClient(`127.0.0.1:${ports.grpc}`);
      const h = await unary<{ status?: string }>((cb) => health.check({ service: 'ferry.v1.Orchestrator' }, new grpc.Metadata(), {}, cb));
      assert.equal(h.res?.status, 'SERVING');
      health.close();
    } finally {
      raw.close();
    }
  });

  it('replicates a scheduled job to two receivers through a worker kill and a receiver down for a minute', async () => {
    const messages: Array<{ type: string; sessionId: string }> = [];
    ws!.on('message', (data) => messages.push(JSON.parse(data.toString())));
    await until('the inspector connection', () => ws!.readyState === 1, 10_000);

    // a subscriber from before the job exists
    const watched: TransitionEvent[] = [];
    let firstWatch = new AbortController();
    const firstDone = api!.watchTransitions({ machineIds: ['nightly'], afterId: '' }, (e) => { watched.push(e); }, firstWatch.signal);
    await new Promise((r) => setTimeout(r, 500));

    const grpcUrl = (n: 'a' | 'b' | 'c') => `grpc://127.0.0.1:${ports[n]}/dir:${d.path}/${n}`;
    // retries short enough that, without health gating, a minute down would use up every attempt
    const job = await api!.createJob({
      name: 'nightly', sender: grpcUrl('a'), receivers: [grpcUrl('b'), grpcUrl('c')], schedule: { everyMs: 3_600_000 },
      initial: 'all', concurrency: 1, retry: { initialMs: 1000, maxMs: 4000, maxAttempts: 4 },
    });
    assert.deepEqual(job.spec.receivers, [grpcUrl('b'), grpcUrl('c')]);
    const runId: string = await until('the scheduled invocation', async () => (await api!.getJob('nightly')).lastRun ?? undefined, 20_000);

    // mid-run: once receiver c has taken one step, kill a worker, drop the subscriber, stop agent c
    await until('a first step to receiver c', async () => {
      const run = await api!.getRun(runId);
      const toC = run.replications.find((r) => r.receiver === grpcUrl('c'));
      return toC && toC.filesystems.some((f) => f.stepsDone >= 1) && toC.state !== 'Completed';
    }, 60_000, 20);
    await stop(workers[0], 'SIGKILL');
    firstWatch.abort();
    await firstDone;
    const lastSeen = watched[watched.length - 1].id!;
    await stop(agents[2], 'SIGTERM');
    const stoppedAt = Date.now();

    // resume the subscription from the last id it saw
    await new Promise((r) => setTimeout(r, 2000));
    const resumed: TransitionEvent[] = [];
    const secondWatch = new AbortController();
    const secondDone = api!.watchTransitions({ machineIds: ['nightly'], afterId: lastSeen }, (e) => { resumed.push(e); }, secondWatch.signal);

    // while c is down the orchestrator says so, and the run waits instead of failing
    const unhealthy = await until('receiver c reported unhealthy', async () => (await api!.listTargets()).find((t) => !t.healthy && t.target.endsWith(`:${ports.c}`)), 30_000, 200);
    assert.ok(Date.parse(unhealthy.since) >= stoppedAt - 1000, 'unhealthy since about when it stopped');
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - stoppedAt))));
    assert.equal((await api!.getRun(runId)).state, 'Replicating', 'a minute later the run still waits for receiver c');
    agents[2] = await startAgent('c');

    const final = await until('the invocation to end', async () => {
      const r = await api!.getRun(runId);
      return r.state === 'Completed' || r.state === 'PermanentError' ? r : undefined;
    }, 180_000, 250);
    assert.equal(final.state, 'Completed', JSON.stringify(final, null, 1));
    for (const rep of final.replications) {
      assert.equal(rep.state, 'Completed');
      for (const f of rep.filesystems) {
        assert.equal(f.state, 'Completed');
        assert.equal(f.stepsDone, 4);
        assert.equal(f.problem, null, `${rep.receiver} ${f.name}: no error surfaced`);
      }
    }
    // both receivers hold every snapshot of every filesystem
    const senderDriver = createDirDriver(`${d.path}/a`);
    for (const n of ['b', 'c']) {
      const r = createDirDriver(`${d.path}/${n}`);
      for (const fs of ['f0', 'f1', 'f2']) {
        assert.deepEqual((await r.listVersions(fs)).map((v) => v.guid), (await senderDriver.listVersions(fs)).map((v) => v.guid), `${n}/${fs}`);
      }
    }

    // the subscriber's two sessions together are exactly the run's transitions, in order
    await until('the subscriber to see the end', () => resumed.some((e) => e.machineId === runId && e.status === 'done'), 10_000);
    secondWatch.abort();
    await secondDone;
    const logged = (await allTransitions(redis.url)).filter((e) => e.machineId === runId || e.machineId.startsWith(`${runId}.`));
    const got = [...watched, ...resumed].map((e) => e.id);
    assert.equal(new Set(got).size, got.length, 'no duplicate');
    assert.deepEqual(got, logged.map((e) => e.id), 'no gap');
    assert.ok(logged.some((e) => e.kind === 'filesystem' && e.to === 'WorkingWait'), 'receiver c was retried');

    // /metrics of the orchestrator: the cluster's transitions and bytes, whichever process did them
    const text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    const everything = await allTransitions(redis.url);
    assert.equal(sample(text, 'ferry_transitions_total'), everything.length, 'every committed transition counted once');
    assert.equal(sample(text, 'ferry_transitions_total', { machine: 'job', to: 'Completed' }), 1);
    assert.equal(sample(text, 'ferry_replicated_bytes_total'), final.bytes, 'bytes of the run');
    // a step counts the bytes it moved once its result is committed: one the killed worker was
    // running may have finished on the receiver just before the kill, and its retry then finds the
    // version there and moves nothing (at most one step per filesystem and receiver was running)
    const steps = 2 * 3 * 4;
    assert.ok(final.bytes >= (steps - 2 * 3) * (4 << 20), `at least the data of the steps not cut by the kill: ${final.bytes}`);
    assert.equal(sample(text, 'ferry_runs_in_flight'), 0);
    assert.ok(sample(text, 'ferry_state_seconds_count', { machine: 'filesystem', state: 'WorkingWait' })! >= 1);
    assert.ok(sample(text, 'ferry_queue_jobs') !== undefined, 'queue depths');
    assert.ok(sample(text, 'process_resident_memory_bytes')! > 0, 'Node defaults');

    // the inspector saw the run's machines
    const sessions = (type: string) => new Set(messages.filter((m) => m.type === type).map((m) => m.sessionId));
    for (const id of [runId, `${runId}.to-0`, `${runId}.to-1`, `${runId}.to-1.fs-0`]) {
      assert.ok(sessions('@xstate.actor').has(id), `@xstate.actor for ${id}`);
      assert.ok(sessions('@xstate.snapshot').has(id), `@xstate.snapshot for ${id}`);
    }
  });
});
