import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { InspectionEvent, TransitionEvent } from '../src/engine/index.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { createLogger } from '../src/util/logger.js';
import { openTestEngine } from './helpers/engine.js';
import { startTestRedis } from './helpers/redis.js';
import { startNodeProcess, stopProcess, until } from './helpers/processes.js';
import { registry } from './fixtures/machines.js';

const quiet = () => createLogger({ level: 'warn', pretty: false });
let seq = 0;
const uniquePrefix = () => `t${process.pid}x${++seq}`;

function assertNoDuplicateTransitions(log: TransitionEvent[], id: string): void {
  const mine = log.filter((e) => e.machineId === id);
  const versions = mine.map((e) => e.version);
  assert.deepEqual(versions, [...versions].sort((a, b) => a - b), `versions of ${id} out of order`);
  assert.equal(new Set(versions).size, versions.length, `duplicate transition of ${id}: ${JSON.stringify(mine)}`);
}

describe('engine with a real redis-server', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('applies events in order, exactly once, with two worker processes', async () => {
    const prefix = uniquePrefix();
    const workers = await Promise.all([0, 1].map(() => startNodeProcess('test/fixtures/worker.ts', [redis.url, prefix])));
    const client = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    try {
      const ids = Array.from({ length: 100 }, (_, i) => `c${i}`);
      await Promise.all(ids.map((id) => client.start('counter', id, {})));
      for (let n = 0; n < 30; n++) await Promise.all(ids.map((id) => client.send(id, { type: 'add', n } as never)));
      for (const id of ids) {
        const rec = await client.waitFor(id, (r) => (r.snapshot as any).context.seen.length >= 30, { timeoutMs: 30_000 });
        assert.deepEqual((rec.snapshot as any).context.seen, Array.from({ length: 30 }, (_, i) => i), `events of ${id} applied out of order or twice`);
        assert.equal(rec.version, 31);
      }
      // a started machine is not started twice
      assert.equal(await client.start('counter', 'c0', {}), false);
    } finally {
      await client.close();
      await Promise.all(workers.map((w) => stopProcess(w)));
    }
  });

  it('runs an effect, retries after a temporary error and keeps a transition log readable from any position', async () => {
    const prefix = uniquePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-eff-'));
    const inspected: InspectionEvent[] = [];
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet(), inspect: (e) => inspected.push(e) });
    engine.startWorkers({ watchdogIntervalMs: 100 });
    try {
      const file = join(dir, 'log');
      writeFileSync(file, '');
      await engine.start('worker', 'w1', { file, sleepMs: 50, failTimes: 1 });
      const rec = await engine.waitFor('w1', (r) => r.status === 'done', { timeoutMs: 20_000 });
      const ctx = (rec.snapshot as any).context;
      assert.equal(ctx.result, 'ok-1');
      assert.deepEqual(ctx.errors, ['FLAKY']);
      const log = await engine.transitions.read('0');
      const path = log.filter((e) => e.machineId === 'w1').map((e) => e.to);
      assert.deepEqual(path, ['Working', 'WorkingWait', 'Working', 'Completed']);
      // resume after the second entry: exactly the rest, no gap, no duplicate
      const rest = await engine.transitions.read(log[1].id!);
      assert.deepEqual(rest.map((e) => e.id), log.slice(2).map((e) => e.id));
      assert.ok(inspected.some((e) => e.type === '@xstate.actor' && e.sessionId === 'w1'));
      assert.ok(inspected.some((e) => e.type === '@xstate.snapshot' && e.sessionId === 'w1' && e.snapshot.value === 'Completed'));
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('aborts an effect without progress (watchdog) and the machine retries it', async () => {
    const prefix = uniquePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-wd-'));
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    engine.startWorkers({ watchdogIntervalMs: 100 });
    try {
      const file = join(dir, 'log');
      writeFileSync(file, '');
      await engine.start('worker', 'w2', { file, sleepMs: 10, stallMs: 60_000 });
      const rec = await engine.waitFor('w2', (r) => r.status === 'done', { timeoutMs: 20_000 });
      assert.deepEqual((rec.snapshot as any).context.errors, ['WATCHDOG_TIMEOUT']);
      const metrics = await engine.metrics.registry.getSingleMetricAsString('ferry_watchdog_timeouts_total');
      assert.match(metrics, /ferry_watchdog_timeouts_total\{effect="work"\} 1/);
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ignores a fired timer whose registry entry is gone or was replaced', async () => {
    const prefix = uniquePrefix();
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    engine.startWorkers();
    try {
      await engine.start('timer', 't1', { delayMs: 60_000 });
      const rec = await engine.waitFor('t1', (r) => r.value === 'Waiting');
      const [sendId, entry] = Object.entries(rec.timers)[0];
      // a timer that fires with a key the machine no longer holds (cancelled or superseded)
      await engine.enqueue('t1', { event: entry.event, from: 'timer', key: 'stale-key', ref: sendId, at: Date.now() });
      await engine.send('t1', { type: 'leave' });
      const left = await engine.waitFor('t1', (r) => r.value === 'Left');
      // the real timer of the left state now fires late: it must be ignored too
      await engine.enqueue('t1', { event: entry.event, from: 'timer', key: entry.key, ref: sendId, at: Date.now() });
      await engine.send('t1', { type: 'back' });
      const back = await engine.waitFor('t1', (r) => r.value === 'Waiting' && r.version > left.version);
      assert.equal(back.status, 'active');
      const stale = await engine.metrics.registry.getSingleMetricAsString('ferry_stale_events_total');
      assert.match(stale, /ferry_stale_events_total\{machine="timer",from="timer"\} 2/);
      const path = (await engine.transitions.read('0')).filter((e) => e.machineId === 't1').map((e) => e.to);
      assert.deepEqual(path, ['Waiting', 'Left', 'Waiting']);
    } finally {
      await engine.close();
    }
  });

  it('runs child machines durably and returns their output to the parent', async () => {
    const prefix = uniquePrefix();
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    engine.startWorkers();
    try {
      await engine.start('parent', 'p1', { n: 1 });
      const rec = await engine.waitFor('p1', (r) => r.status === 'done', { timeoutMs: 20_000 });
      const child = await engine.get('p1.c1');
      assert.equal(child?.status, 'done');
      assert.equal(child?.parent, 'p1');
      // the child's entry into its first state reached the parent; its final state came as done
      assert.deepEqual((rec.snapshot as any).context.states, ['Waiting']);
      const log = await engine.transitions.read('0');
      assert.deepEqual(log.map((e) => `${e.machineId}:${e.to}`), ['p1:Running', 'p1.c1:Waiting', 'p1.c1:Fired', 'p1:Done']);
    } finally {
      await engine.close();
    }
  });

  it('a worker killed with SIGKILL mid-effect: the effect is retried, the machine completes, no duplicate transition', async () => {
    const prefix = uniquePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-kill-'));
    const file = join(dir, 'log');
    writeFileSync(file, '');
    const workers: ChildProcess[] = await Promise.all([0, 1].map(() => startNodeProcess('test/fixtures/worker.ts', [redis.url, prefix])));
    const client = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    try {
      await client.start('worker', 'k1', { file, sleepMs: 3000 });
      const line = await until('the effect to start', () => readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('start k1')));
      const pid = Number(line.split(' ')[3]);
      const victim = workers.find((w) => w.pid === pid)!;
      assert.ok(victim, `effect ran in an unknown process ${pid}`);
      await stopProcess(victim, 'SIGKILL');
      const rec = await client.waitFor('k1', (r) => r.status === 'done', { timeoutMs: 30_000 });
      assert.equal((rec.snapshot as any).context.result, 'ok-0');
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.filter((l) => l.startsWith('start k1')).length, 2, lines.join('\n'));
      assert.ok(lines.some((l) => l.startsWith('end k1') && !l.endsWith(` ${pid}`)));
      const log = await client.transitions.read('0');
      assertNoDuplicateTransitions(log, 'k1');
      assert.deepEqual(log.filter((e) => e.machineId === 'k1').map((e) => e.to), ['Working', 'Completed']);
    } finally {
      await client.close();
      await Promise.all(workers.map((w) => stopProcess(w)));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('no machine waits on a job that no longer exists', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('an effect whose worker dies more often than maxStalledCount reaches its machine as EFFECT_STALLED, and the machine retries it', async () => {
    const prefix = uniquePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-stall-'));
    const file = join(dir, 'log');
    writeFileSync(file, '');
    // BullMQ fails the job at its second stall (maxStalledCount 1): two SIGKILLs of the worker holding it
    const env = { FERRY_TEST_MAX_STALLED: '1' };
    const starts = () => readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('start s1 0 '));
    let worker = await startNodeProcess('test/fixtures/worker.ts', [redis.url, prefix], env);
    const client = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    try {
      await client.start('worker', 's1', { file, sleepMs: 4000 });
      for (let kill = 1; kill <= 2; kill++) {
        await until(`run ${kill} of the effect`, () => starts().length >= kill);
        await stopProcess(worker, 'SIGKILL');
        worker = await startNodeProcess('test/fixtures/worker.ts', [redis.url, prefix], env);
      }
      const rec = await client.waitFor('s1', (r) => r.status === 'done', { timeoutMs: 60_000 });
      const ctx = (rec.snapshot as any).context;
      assert.deepEqual(ctx.errors, ['EFFECT_STALLED']);
      assert.equal(ctx.result, 'ok-1');
      // the job given up on never ran a third time; the machine's retry is a new job
      assert.equal(starts().length, 2);
      const log = await client.transitions.read('0');
      assertNoDuplicateTransitions(log, 's1');
      assert.deepEqual(log.filter((e) => e.machineId === 's1').map((e) => e.to), ['Working', 'WorkingWait', 'Working', 'Completed']);
    } finally {
      await client.close();
      await stopProcess(worker);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('timers survive a restart of every process', () => {
  it('a pending timer fires after redis-server and all workers restarted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-aof-'));
    let redis = await startEmbeddedRedis({ dir, appendonly: true });
    const port = redis.port;
    const prefix = uniquePrefix();
    let worker = await startNodeProcess('test/fixtures/worker.ts', [redis.url, prefix]);
    let client = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    try {
      await client.start('timer', 'r1', { delayMs: 2500 });
      await client.waitFor('r1', (r) => r.value === 'Waiting' && Object.keys(r.timers).length === 1);
      await client.close();
      await stopProcess(worker, 'SIGKILL');
      // AOF fsyncs every second
      await new Promise((r) => setTimeout(r, 1200));
      await redis.stop();
      redis = await startEmbeddedRedis({ dir, appendonly: true, port });
      worker = await startNodeProcess('test/fixtures/worker.ts', [redis.url, prefix]);
      client = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
      const rec = await client.waitFor('r1', (r) => r.status === 'done', { timeoutMs: 20_000 });
      assert.equal(rec.value, 'Fired');
    } finally {
      await client.close();
      await stopProcess(worker);
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
