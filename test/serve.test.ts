import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { createLogger } from '../src/util/logger.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { startReplication } from '../src/replication/runs.js';
import { runReport } from '../src/replication/report.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { until } from './helpers/processes.js';
import { serve, stop, type Served } from './helpers/serve.js';
import { startTestRedis } from './helpers/redis.js';
import { fastRetry, tempDir } from './helpers/replication.js';
import { sample } from './helpers/metrics.js';

// Node 20 has no global WebSocket: use `ws`, which @statelyai/inspect depends on (and loads the same way)
interface WsClient {
  readyState: number;
  on(event: 'message', fn: (data: Buffer) => void): void;
  on(event: 'open' | 'close', fn: () => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  terminate(): void;
}
const inspectPackage = createRequire(import.meta.url).resolve('@statelyai/inspect');
const WebSocket = createRequire(inspectPackage)('ws') as new (url: string) => WsClient;

interface Message { type: string; sessionId: string; rootId?: string; parentId?: string; sourceId?: string; name?: string; definition?: string; _version?: string; event?: { type: string }; snapshot?: { status: string; value?: unknown; context?: unknown } }

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

describe('ferry serve: metrics and the Stately inspector', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('serves /metrics and inspector messages for a run its workers carry out, and stops on SIGTERM', async () => {
    const d = tempDir('serve');
    const prefix = `serve${process.pid}x${Date.now()}`;
    const [metricsPort, inspectPort] = [await freePort(), await freePort()];
    let served: Served | null = null;
    let ws: WsClient | null = null;
    let engine: TestEngine | null = null;
    try {
      served = await serve(['--metrics', `127.0.0.1:${metricsPort}`, '--inspect', String(inspectPort), '--key-prefix', prefix], { REDIS_URL: redis.url });
      const lines = served.out().trim().split('\n');
      assert.equal(lines[0], `metrics on http://127.0.0.1:${metricsPort}/metrics`);
      assert.match(lines[1], new RegExp(`^Stately inspector on http://127\\.0\\.0\\.1:${inspectPort} `));

      // a client of the inspector server, as the browser page is: it receives what ferry's client sends
      const messages: Message[] = [];
      ws = new WebSocket(`ws://127.0.0.1:${inspectPort}`);
      ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
      ws.on('error', () => undefined);
      await until('the inspector connection', () => ws!.readyState === 1, 10_000);

      const page = await fetch(`http://127.0.0.1:${inspectPort}/`);
      const pageText = await page.text();
      assert.match(pageText, /<iframe id="inspector" src="https:\/\/stately\.ai\/inspect">/);
      // the page connects back to where it came from (the library's page says localhost)
      assert.match(pageText, /new WebSocket\('ws:\/\/' \+ location\.host\)/);
      // loopback only: the server is not reachable on the machine's other addresses
      const external = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address);
      for (const host of external) {
        assert.equal(await refused(host, inspectPort), true, `inspector reachable on ${host}`);
        assert.equal(await refused(host, metricsPort), true, `metrics reachable on ${host}`);
      }

      // the run is started from a process without workers: the serve process does every step
      const sender = createDirDriver(join(d.path, 's'));
      mkdirSync(join(d.path, 's', 'data'), { recursive: true });
      writeFileSync(join(d.path, 's', 'data', 'f.txt'), 'served\n'.repeat(1000));
      await sender.snapshot(['data'], 's1');
      engine = openTestEngine(redis.url, { prefix, registry: replicationRegistry({ metrics: new FerryMetrics() }), logger: createLogger({ level: 'warn', pretty: false }) });
      const runId = await startReplication(engine, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r`, retry: fastRetry });
      await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 60_000 });
      const report = await runReport(engine, runId);
      assert.equal(report?.state, 'Completed', JSON.stringify(report));
      assert.equal(readFileSync(join(d.path, 'r', 'data', 'f.txt'), 'utf8'), 'served\n'.repeat(1000));

      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      assert.ok((sample(text, 'ferry_transitions_total', { machine: 'replication' }) ?? 0) > 0, 'replication transitions counted by the serve process');
      assert.ok((sample(text, 'ferry_transitions_total', { machine: 'filesystem', to: 'Completed' }) ?? 0) > 0);
      assert.ok((sample(text, 'ferry_state_seconds_count', { machine: 'replication', state: 'Planning' }) ?? 0) > 0);
      assert.ok((sample(text, 'ferry_replicated_bytes_total', { filesystem: 'data' }) ?? 0) >= 7000, 'bytes of the completed step, committed with its result');
      assert.ok((sample(text, 'ferry_queue_jobs', { queue: 'effects', state: 'completed' }) ?? 0) >= 2, 'plan and step jobs');
      assert.equal(sample(text, 'ferry_queue_jobs', { queue: 'drain', state: 'active' }) !== undefined, true);
      assert.equal(sample(text, 'ferry_runs_in_flight'), 0);
      assert.ok((sample(text, 'process_cpu_seconds_total') ?? 0) > 0);
      assert.ok(sample(text, 'nodejs_heap_size_used_bytes') !== undefined);

      const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(await health.text(), 'ok\n');
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/nope`)).status, 404);

      // inspector messages, in the shape @statelyai/inspect's client sends for XState actors
      const child = `${runId}.fs-0`;
      const of = (id: string, type: string) => messages.filter((m) => m.sessionId === id && m.type === type);
      await until('the final snapshots in the inspector', () =>
        of(runId, '@xstate.snapshot').some((m) => m.snapshot?.status === 'done') && of(child, '@xstate.snapshot').some((m) => m.snapshot?.status === 'done'), 10_000);
      for (const id of [runId, child]) {
        assert.equal(messages.find((m) => m.sessionId === id)?.type, '@xstate.actor', `${id} is announced before its events`);
        assert.equal(of(id, '@xstate.actor').length, 1);
      }
      const [runActor] = of(runId, '@xstate.actor');
      assert.equal(runActor.rootId, runId);
      assert.equal(runActor.parentId, undefined);
      assert.equal(runActor._version, '0.7.2');
      assert.equal(JSON.parse(runActor.definition!).id, 'replication');
      const [childActor] = of(child, '@xstate.actor');
      assert.equal(childActor.parentId, runId);
      assert.equal(childActor.rootId, runId);
      assert.equal(childActor.name, 'fs-0');
      assert.equal(JSON.parse(childActor.definition!).id, 'filesystem');
      assert.ok(childActor.snapshot && 'value' in childActor.snapshot, 'the announced actor carries its snapshot');
      const last = of(runId, '@xstate.snapshot').at(-1)!;
      assert.deepEqual([last.snapshot?.status, last.snapshot?.value], ['done', 'Completed']);
      assert.ok(of(child, '@xstate.event').length > 0);
      const fromChild = of(runId, '@xstate.event').find((m) => m.event?.type === 'xstate.done.actor.fs-0');
      assert.equal(fromChild?.sourceId, child, 'a child\'s result comes from the child');

      ws.terminate();
      ws = null;
      const code = await stop(served);
      assert.equal(code, 0, served.err());
      assert.match(served.err(), /ferry: stopping/);
      assert.equal(await refused('127.0.0.1', metricsPort), true);
      assert.equal(await refused('127.0.0.1', inspectPort), true);
    } finally {
      ws?.terminate();
      if (served) await stop(served);
      await engine?.close();
      d.remove();
    }
  });

  it('a busy port is bad input (exit 2), before any worker starts', async () => {
    const busy: Server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', () => r()));
    try {
      const child = spawn(process.execPath, ['bin/ferry.mjs', 'serve', '--metrics', String(port), '--key-prefix', `busy${process.pid}`], { env: { ...process.env, REDIS_URL: redis.url }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      assert.equal(code, 2, err);
      assert.match(err, new RegExp(`--metrics 127\\.0\\.0\\.1:${port}: cannot listen: address already in use`));
      const bad = spawn(process.execPath, ['bin/ferry.mjs', 'serve', '--inspect', 'nope'], { env: { ...process.env, REDIS_URL: redis.url }, stdio: ['ignore', 'ignore', 'pipe'] });
      let badErr = '';
      bad.stderr!.on('data', (d) => (badErr += d));
      assert.equal(await new Promise<number | null>((r) => bad.once('exit', (c) => r(c))), 2);
      assert.match(badErr, /--inspect "nope": expected PORT, HOST:PORT/);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});
