import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { InspectionEvent, TransitionEvent } from '../src/engine/index.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { createLogger } from '../src/util/logger.js';
import { Queue, Worker } from 'bullmq';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
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
      await engine.settled(); // the inspector hears of a commit after the record shows it
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
      await engine.settled(); // metrics count a commit after the record shows it
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

  it('a child defined with reportInitialState false: its parent does not hear its first state (one commit less), only its end', async () => {
    const prefix = uniquePrefix();
    const quietChild = { ...registry, machines: { ...registry.machines, timerChild: { ...registry.machines.timerChild, reportInitialState: false } } };
    const commits: string[] = [];
    const engine = openTestEngine(redis.url, { prefix, registry: quietChild, logger: quiet(), trace: { committed: (c) => { if (c.expectedVersion > 0) commits.push(c.machineId); } } });
    engine.startWorkers();
    try {
      await engine.start('parent', 'p2', { n: 1 });
      const rec = await engine.waitFor('p2', (r) => r.status === 'done', { timeoutMs: 20_000 });
      await engine.settled();
      assert.deepEqual((rec.snapshot as any).context.states, [], 'no report of the child\'s first state');
      assert.deepEqual((rec.snapshot as any).context.outputs, [null]);
      assert.deepEqual(commits.filter((id) => id === 'p2'), ['p2'], 'the parent committed once after its creation: the child\'s end');
      const log = await engine.transitions.read('0');
      assert.deepEqual(log.map((e) => `${e.machineId}:${e.to}`), ['p2:Running', 'p2.c1:Waiting', 'p2.c1:Fired', 'p2:Done']);
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

  /** A queue of the engine's, opened beside it, to lose jobs by hand. */
  const engineQueue = (engine: TestEngine, name: string) => new Queue(name, { connection: engine.connection as never, prefix: engine.prefix });

  it('reconciler: an effect job removed by hand reaches its machine as EFFECT_LOST once, whichever of two workers looks; counted', async () => {
    const prefix = uniquePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lost-'));
    const file = join(dir, 'log');
    writeFileSync(file, '');
    const a = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    const b = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    const effects = engineQueue(a, 'effects');
    try {
      await a.start('worker', 'l1', { file, sleepMs: 10 });
      const rec = await a.get('l1');
      const key = rec!.children.job.key;
      assert.equal(await effects.remove(key), 1);
      const reports = await Promise.all([a.reconcile({ graceMs: 100 }), b.reconcile({ graceMs: 100 })]);
      assert.deepEqual(reports.map((r) => r.ran).sort(), [false, true], 'two passes at once');
      const report = reports.find((r) => r.ran)!;
      assert.deepEqual(report.repaired.map((r) => [r.machineId, r.reason]), [['l1', 'effect_lost']]);
      // a second pass finds the error in the inbox (not yet drained): nothing more to repair
      assert.deepEqual((await a.reconcile({ graceMs: 0 })).repaired, []);
      a.startWorkers({ reconcileIntervalMs: 0 });
      const done = await a.waitFor('l1', (r) => r.status === 'done', { timeoutMs: 20_000 });
      assert.deepEqual((done.snapshot as any).context.errors, ['EFFECT_LOST']);
      const metric = await a.metrics.registry.getSingleMetricAsString('ferry_engine_reconciled_total');
      assert.match(metric, /ferry_engine_reconciled_total\{reason="effect_lost"\} 1/);
    } finally {
      await effects.close();
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reconciler: an effect job BullMQ failed without its machine hearing of it is delivered as EFFECT_FAILED', async () => {
    const prefix = uniquePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-failed-'));
    const file = join(dir, 'log');
    writeFileSync(file, '');
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    // a bare BullMQ worker (not the engine's: no handler tells the machine) fails the job for good
    const effects = engineQueue(engine, 'effects');
    const bareConnection = engine.connection.duplicate();
    const bare = new Worker('effects', async () => { throw new Error('out of memory'); }, { connection: bareConnection as never, prefix });
    try {
      await engine.start('worker', 'f1', { file, sleepMs: 10 });
      const key = (await engine.get('f1'))!.children.job.key;
      await until('the job to fail', async () => (await effects.getJobState(key)) === 'failed');
      await bare.close();
      const report = await engine.reconcile({ graceMs: 100 });
      assert.deepEqual(report.repaired.map((r) => r.reason), ['effect_failed']);
      engine.startWorkers({ reconcileIntervalMs: 0 });
      const done = await engine.waitFor('f1', (r) => r.status === 'done', { timeoutMs: 20_000 });
      assert.deepEqual((done.snapshot as any).context.errors, ['EFFECT_FAILED']);
    } finally {
      await bare.close();
      bareConnection.disconnect();
      await effects.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reconciler: an inbox whose drain job was removed, a timer whose job was removed, an outbox nobody dispatched', async () => {
    const prefix = uniquePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-strand-'));
    const file = join(dir, 'log');
    writeFileSync(file, '');
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    const [drain, timers, effects] = ['drain', 'timers', 'effects'].map((n) => engineQueue(engine, n));
    try {
      // an event in the inbox, its drain job gone
      await engine.start('counter', 'i1', {});
      await engine.send('i1', { type: 'add', n: 7 } as never);
      const drainJob = await drain.getDeduplicationJobId('i1');
      assert.ok(drainJob);
      assert.equal(await drain.remove(drainJob), 1);
      // a timer entry, its job gone
      await engine.start('timer', 'i2', { delayMs: 200 });
      const timerKey = Object.values((await engine.get('i2'))!.timers)[0].key;
      assert.equal(await timers.remove(timerKey), 1);
      // a commit whose dispatch was cut short: the effect entry back in the outbox, its job never added
      await engine.start('worker', 'i3', { file, sleepMs: 10 });
      const rec = (await engine.get('i3'))!;
      const key = rec.children.job.key;
      assert.equal(await effects.remove(key), 1);
      const input = (await engine.snapshotOf('i3'))!.context.input;
      await engine.connection.rpush(`${prefix}:m:{i3}:outbox`, JSON.stringify({ op: 'effect', jobId: key, machineId: 'i3', childId: 'job', key, src: 'work', input: { ...input, attempt: 0 } }));

      const report = await engine.reconcile({ graceMs: 100 });
      assert.deepEqual(report.repaired.map((r) => `${r.machineId}:${r.reason}`).sort(), ['i1:inbox_stranded', 'i2:timer_lost', 'i3:outbox_stranded']);
      engine.startWorkers({ reconcileIntervalMs: 0 });
      const counted = await engine.waitFor('i1', (r) => (r.snapshot as any).context.seen.length === 1, { timeoutMs: 20_000 });
      assert.deepEqual((counted.snapshot as any).context.seen, [7]);
      assert.equal((await engine.waitFor('i2', (r) => r.status === 'done', { timeoutMs: 20_000 })).value, 'Fired');
      const done = await engine.waitFor('i3', (r) => r.status === 'done', { timeoutMs: 20_000 });
      assert.deepEqual((done.snapshot as any).context.errors, [], 'the outbox was dispatched: the effect ran as committed');
      const metric = await engine.metrics.registry.getSingleMetricAsString('ferry_engine_reconciled_total');
      for (const reason of ['inbox_stranded', 'timer_lost', 'outbox_stranded']) assert.match(metric, new RegExp(`reason="${reason}"\\} 1`));
    } finally {
      await Promise.all([drain, timers, effects].map((q) => q.close()));
      await engine.close();
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
