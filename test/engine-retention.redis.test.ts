import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from 'xstate';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { openRedis, type Registry } from '../src/engine/index.js';
import { EngineReader } from '../src/engine/engine-reader.js';
import { RunViews } from '../src/service/run-views.js';
import { JobStore } from '../src/jobs/store.js';
import { createLogger } from '../src/util/logger.js';
import { historyDays } from '../src/cli/history-option.js';
import { openTestEngine, TestEngine } from './helpers/engine.js';
import { runProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { counterMachine } from './fixtures/machines.js';

/** A run that spawns a counter child, stays active after the child finished, and finishes on `finish`. */
const runMachine = setup({ actors: { counter: counterMachine } }).createMachine({
  id: 'run',
  initial: 'Child',
  states: {
    Child: { invoke: { src: 'counter', id: 'c1', onDone: 'Waiting' } },
    Waiting: { on: { finish: 'Done' } },
    Done: { type: 'final' },
  },
});

const registry: Registry = {
  machines: { counter: { machine: counterMachine, version: '1' }, run: { machine: runMachine, version: '1' }, replication: { machine: counterMachine, version: '1' } },
  effects: {},
};

const DAY = 86_400_000;
const quiet = () => createLogger({ level: 'warn', pretty: false });
let seq = 0;
const uniquePrefix = () => `r${process.pid}x${++seq}`;

/** A clock the test moves by hand: finish times and the sweep's cutoff both read it. */
function handClock(): { now(): number; advance(ms: number): void } {
  let t = Date.UTC(2026, 0, 1);
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('finished machines are removed after the retention (docs/engine.md "Retention")', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  async function open(finishedRetentionMs?: number): Promise<{ engine: TestEngine; clock: ReturnType<typeof handClock> }> {
    const clock = handClock();
    const engine = openTestEngine(redis.url, { prefix: uniquePrefix(), registry, logger: quiet(), clock, finishedRetentionMs });
    engine.startWorkers({ reconcileIntervalMs: 0 });
    return { engine, clock };
  }

  const keysOf = (engine: TestEngine, id: string) => engine.connection.keys(`${engine.prefix}:m:{${id}}*`);
  const finished = (engine: TestEngine, id: string) => engine.waitFor(id, (r) => r.status === 'done', { timeoutMs: 30_000, pollMs: 20 });

  it('a finished machine older than the retention goes with its record, inbox, outbox and index entry; one not final, or final but younger, stays', async () => {
    const { engine, clock } = await open(DAY);
    try {
      for (const id of ['old', 'active', 'young']) await engine.start('counter', id, {});
      await engine.send('old', { type: 'finish' });
      await finished(engine, 'old');
      // a late event in its inbox belongs to it too
      await engine.connection.rpush(`${engine.prefix}:m:{old}:inbox`, JSON.stringify({ event: { type: 'add', n: 1 }, from: 'ext', at: 0 }));
      clock.advance(DAY + 1);
      await engine.send('young', { type: 'finish' });
      await finished(engine, 'young');
      assert.ok((await keysOf(engine, 'old')).length > 0);

      const report = await engine.reconcile({ graceMs: 0 });
      assert.deepEqual(report.removed, [{ machineId: 'old', kind: 'counter' }]);
      assert.deepEqual(await keysOf(engine, 'old'), []);
      assert.equal(await engine.get('old'), null);
      assert.deepEqual((await engine.list('counter')).sort(), ['active', 'young']);
      assert.equal((await engine.get('active'))?.status, 'active');
      assert.equal((await engine.get('young'))?.status, 'done');
      const metric = await engine.metrics.registry.getSingleMetricAsString('ferry_engine_machines_removed_total');
      assert.match(metric, /ferry_engine_machines_removed_total\{machine="counter"\} 1/);

      // the young one goes once it is older than the retention too; the active one never
      clock.advance(DAY);
      assert.deepEqual((await engine.reconcile({ graceMs: 0 })).removed, [{ machineId: 'young', kind: 'counter' }]);
      assert.deepEqual(await engine.list('counter'), ['active']);
    } finally {
      await engine.close();
    }
  });

  it('a run\'s finished child stays while the run lives, and goes with or after the run', async () => {
    const { engine, clock } = await open(DAY);
    try {
      await engine.start('run', 'run1', {});
      await engine.waitFor('run1.c1', () => true, { timeoutMs: 30_000, pollMs: 20 });
      await engine.send('run1.c1', { type: 'finish' });
      await engine.waitFor('run1', (r) => r.value === 'Waiting', { timeoutMs: 30_000, pollMs: 20 });
      assert.equal((await engine.get('run1.c1'))?.status, 'done');
      clock.advance(10 * DAY);
      // the run is active: its child's record stays, however old
      assert.deepEqual((await engine.reconcile({ graceMs: 0 })).removed, []);
      assert.equal((await engine.get('run1.c1'))?.status, 'done');

      await engine.send('run1', { type: 'finish' });
      await finished(engine, 'run1');
      clock.advance(DAY - 1);
      // the run finished, but less than the retention ago: both stay
      assert.deepEqual((await engine.reconcile({ graceMs: 0 })).removed, []);
      clock.advance(2);
      const first = (await engine.reconcile({ graceMs: 0 })).removed.map((r) => r.machineId);
      assert.ok(first.includes('run1'), `the run goes first: ${JSON.stringify(first)}`);
      // the child went in the same pass (SCAN found it after its run) or goes in the next
      const second = (await engine.reconcile({ graceMs: 0 })).removed.map((r) => r.machineId);
      assert.deepEqual([...first, ...second].sort(), ['run1', 'run1.c1']);
      assert.deepEqual(await keysOf(engine, 'run1'), []);
      assert.deepEqual(await keysOf(engine, 'run1.c1'), []);
      assert.deepEqual(await engine.list('run'), []);
    } finally {
      await engine.close();
    }
  });

  it('retention 0 (the engine\'s default) keeps every finished machine', async () => {
    const { engine, clock } = await open();
    try {
      await engine.start('counter', 'kept', {});
      await engine.send('kept', { type: 'finish' });
      await finished(engine, 'kept');
      clock.advance(3650 * DAY);
      assert.deepEqual((await engine.reconcile({ graceMs: 0 })).removed, []);
      assert.equal((await engine.get('kept'))?.status, 'done');
      assert.deepEqual(await engine.list('counter'), ['kept']);
    } finally {
      await engine.close();
    }
  });

  it('a worker\'s own retention (what `ferry serve`/`worker` pass) replaces the engine\'s', async () => {
    const clock = handClock();
    const engine = openTestEngine(redis.url, { prefix: uniquePrefix(), registry, logger: quiet(), clock });
    try {
      engine.startWorkers({ finishedRetentionMs: DAY, reconcileIntervalMs: 3_600_000, reconcileAtStart: false });
      await engine.start('counter', 'w', {});
      await engine.send('w', { type: 'finish' });
      await finished(engine, 'w');
      clock.advance(DAY + 1);
      assert.deepEqual((await engine.reconcile({ graceMs: 0 })).removed.map((r) => r.machineId), ['w']);
    } finally {
      await engine.close();
    }
  });

  it('a job lists its newest invocations only, so its list stays bounded too', async () => {
    const prefix = uniquePrefix();
    const conn = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    try {
      const jobs = new JobStore(conn.connection, prefix, 3);
      for (let i = 1; i <= 5; i++) await jobs.addRun('hourly', `run-${i}`, i * 1000);
      assert.deepEqual(await jobs.runs('hourly', 10), ['run-5', 'run-4', 'run-3']);
    } finally {
      await conn.close();
    }
  });

  it('--history-days: days (fractions too), 0 or "forever" for good; anything else refused', () => {
    assert.equal(historyDays('30'), 30 * DAY);
    assert.equal(historyDays('0.5'), DAY / 2);
    assert.equal(historyDays('0'), 0);
    assert.equal(historyDays('forever'), 0);
    for (const bad of ['-1', 'soon', '', 'Infinity']) assert.throws(() => historyDays(bad), /days ≥ 0 or "forever"/);
  });

  it('a bad retention is refused with its field named', async () => {
    const conn = openRedis(redis.url, quiet());
    try {
      assert.throws(() => new TestEngine(conn, { prefix: uniquePrefix(), registry, logger: quiet(), finishedRetentionMs: -1 }), /finishedRetentionMs/);
    } finally {
      conn.disconnect();
    }
    const engine = openTestEngine(redis.url, { prefix: uniquePrefix(), registry, logger: quiet() });
    try {
      assert.throws(() => engine.startWorkers({ finishedRetentionMs: Number.NaN }), /finishedRetentionMs/);
    } finally {
      await engine.close();
    }
  });

  it('a removed run reads as unknown: RunViews.getRun NOT_FOUND, `ferry status RUN` the unknown-id error and exit status', async () => {
    const { engine, clock } = await open(DAY);
    try {
      await engine.start('replication', 'gone-run', {});
      await engine.send('gone-run', { type: 'finish' });
      await finished(engine, 'gone-run');
      clock.advance(DAY + 1);
      assert.deepEqual((await engine.reconcile({ graceMs: 0 })).removed.map((r) => r.machineId), ['gone-run']);

      const reader = new EngineReader(engine.connection, engine.prefix);
      const views = new RunViews({ engine: reader, jobs: new JobStore(engine.connection, engine.prefix) });
      await assert.rejects(views.getRun('gone-run'), (err: Error & { code?: string }) => /no run with id gone-run/.test(err.message));
      assert.deepEqual(await views.listRuns(), []);

      const env = { FERRY_LOG_LEVEL: 'warn', REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state' };
      const removed = await runProcess(process.execPath, ['bin/ferry.mjs', '--key-prefix', engine.prefix, 'status', 'gone-run'], { cwd: process.cwd(), env });
      const unknown = await runProcess(process.execPath, ['bin/ferry.mjs', '--key-prefix', engine.prefix, 'status', 'never-was'], { cwd: process.cwd(), env });
      assert.match(removed.stderr, /no run with id gone-run/);
      assert.notEqual(removed.code, 0);
      assert.equal(removed.code, unknown.code);
    } finally {
      await engine.close();
    }
  });
});
