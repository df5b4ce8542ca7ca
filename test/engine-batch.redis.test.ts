import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { assign, setup } from 'xstate';
import { effect } from '../machines/effect.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import type { Registry, TransitionEvent } from '../src/engine/index.js';
import { createLogger } from '../src/util/logger.js';
import { registry as fixtureRegistry } from './fixtures/machines.js';
import { openTestEngine } from './helpers/engine.js';
import { startNodeProcess, stopProcess } from './helpers/processes.js';
import { countRequests, startTestRedis } from './helpers/redis.js';

// Drains apply every event waiting in an inbox in one commit, and one commit's jobs are added in
// bulk: these tests count commits, drain jobs and Redis requests, never time.

const quiet = () => createLogger({ level: 'warn', pretty: false });
let seq = 0;
const uniquePrefix = () => `b${process.pid}x${++seq}`;

/** every `tick` is a state change, so every event is one logged transition */
const toggle = setup({ types: { events: {} as { type: 'tick' } } }).createMachine({
  id: 'toggle', initial: 'A', states: { A: { on: { tick: 'B' } }, B: { on: { tick: 'A' } } },
});

const FAN_OUT = 10;
/** its first state starts FAN_OUT effects and a timer in one transition */
const fan = setup({
  types: { context: {} as { done: number } },
  actors: { noop: effect<{ i: number }, number>() },
  delays: { long: 600_000 },
}).createMachine({
  id: 'fan', initial: 'Running', context: { done: 0 },
  states: {
    Running: {
      invoke: Array.from({ length: FAN_OUT }, (_, i) => ({
        id: `e${i}`, src: 'noop' as const, input: { i }, onDone: { actions: assign({ done: ({ context }: { context: { done: number } }) => context.done + 1 }) },
      })),
      always: { guard: ({ context }) => context.done === FAN_OUT, target: 'Done' },
      after: { long: 'Done' },
    },
    Done: { type: 'final' },
  },
});

const registry: Registry = {
  machines: { toggle: { machine: toggle, version: '1' }, fan: { machine: fan, version: '1' } },
  effects: { noop: { run: async (input: { i: number }) => input.i } },
};

async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

describe('drains and dispatch in batches', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('N events waiting in an inbox: one drain job, one commit, N transitions logged in order, exactly once; the sends schedule one drain', async () => {
    const N = 20;
    const prefix = uniquePrefix();
    const commits: Array<{ expectedVersion: number; consumed: number }> = [];
    let drainJobs = 0;
    const engine = openTestEngine(redis.url, {
      prefix, registry, logger: quiet(),
      trace: { committed: (c) => { if (c.expectedVersion > 0) commits.push(c); }, drainJob: () => { drainJobs++; } },
    });
    const admin = engine.connection.duplicate();
    try {
      await engine.start('toggle', 't1', {});
      await admin.config('RESETSTAT');
      for (let i = 0; i < N; i++) await engine.send('t1', { type: 'tick' });
      const calls = await commandCalls(admin);
      // one RPUSH per event; a drain job (a BullMQ script) only for the event that found the inbox empty
      assert.equal(calls.rpush, N);
      assert.equal((calls.evalsha ?? 0) + (calls.eval ?? 0), 1, `BullMQ scripts run by ${N} sends: ${JSON.stringify(calls)}`);

      engine.startWorkers({ reconcileIntervalMs: 0 });
      const rec = await engine.waitFor('t1', (r) => r.version === N + 1, { timeoutMs: 20_000 });
      await engine.settled(); // the record shows the commit before its worker has reported it
      assert.equal(rec.value, N % 2 ? 'B' : 'A');
      assert.equal(drainJobs, 1);
      assert.deepEqual(commits, [{ machineId: 't1', expectedVersion: 1, consumed: N }]);
      const log = (await engine.transitions.read('0')).filter((e: TransitionEvent) => e.machineId === 't1');
      assert.deepEqual(log.map((e) => e.version), Array.from({ length: N + 1 }, (_, i) => i + 1));
      assert.deepEqual(log.map((e) => e.to), Array.from({ length: N + 1 }, (_, i) => (i % 2 ? 'B' : 'A')));
    } finally {
      admin.disconnect();
      await engine.close();
    }
  });

  it('events sent before their machine exists wait in its inbox and are applied once it is started', async () => {
    const prefix = uniquePrefix();
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    try {
      engine.startWorkers({ reconcileIntervalMs: 0 });
      for (let i = 0; i < 3; i++) await engine.send('early', { type: 'tick' });
      await engine.start('toggle', 'early', {});
      const rec = await engine.waitFor('early', (r) => r.version === 4, { timeoutMs: 20_000 });
      assert.equal(rec.value, 'B');
    } finally {
      await engine.close();
    }
  });

  it('a transition that starts many effects and a timer adds their jobs in one pipeline per queue, not one request per job', async () => {
    const prefix = uniquePrefix();
    const engine = openTestEngine(redis.url, { prefix, registry, logger: quiet() });
    let counter = { stop: () => {} } as ReturnType<typeof countRequests>;
    try {
      // once per connection: scripts loaded, queues ready
      await engine.start('fan', 'f0', {});
      counter = countRequests(engine.connection);
      await engine.start('fan', 'f1', {});
      counter.stop();
      // the commit, the outbox removal, the index entry and whatever BullMQ needs once per queue,
      // however many jobs (one request per job before: 10 effects + 1 timer)
      assert.ok(counter.requests() <= 4, `requests to start a machine with ${FAN_OUT} effects and a timer: ${counter.requests()}`);
      assert.ok(counter.pipelined() >= FAN_OUT + 1, `pipelined commands: ${counter.pipelined()}`);
      const counts = await engine.queueCounts();
      assert.equal(counts.effects.wait, 2 * FAN_OUT);
      assert.equal(counts.timers.delayed, 2);
      engine.startWorkers({ reconcileIntervalMs: 0 });
      const rec = await engine.waitFor('f1', (r) => r.status === 'done', { timeoutMs: 20_000 });
      assert.equal((rec.snapshot as { context: { done: number } }).context.done, FAN_OUT);
    } finally {
      counter.stop();
      await engine.close();
    }
  });

  it('a timer set and cancelled within one batch of events leaves no timer job behind', async () => {
    const prefix = uniquePrefix();
    const engine = openTestEngine(redis.url, { prefix, registry: fixtureRegistry, logger: quiet() });
    try {
      await engine.start('timer', 'tm1', { delayMs: 600_000 });
      assert.equal((await engine.queueCounts()).timers.delayed, 1);
      // one batch: leave (cancels the first timer), back (sets another), leave (cancels that one)
      for (const type of ['leave', 'back', 'leave']) await engine.send('tm1', { type } as never);
      engine.startWorkers({ reconcileIntervalMs: 0 });
      const rec = await engine.waitFor('tm1', (r) => r.version === 4, { timeoutMs: 20_000 });
      await engine.settled(); // the commit's dispatch (the cancellations) follows it
      assert.equal(rec.value, 'Left');
      assert.deepEqual(rec.timers, {});
      assert.equal((await engine.queueCounts()).timers.delayed, 0);
    } finally {
      await engine.close();
    }
  });

  it('two worker processes, one killed with SIGKILL mid-run: every event applied once, in order', async () => {
    const prefix = uniquePrefix();
    const E = 40;
    const workers: ChildProcess[] = await Promise.all([0, 1].map(() => startNodeProcess('test/fixtures/worker.ts', [redis.url, prefix])));
    const client = openTestEngine(redis.url, { prefix, registry: fixtureRegistry, logger: quiet() });
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `k${i}`);
      await Promise.all(ids.map((id) => client.start('counter', id, {})));
      for (let n = 0; n < E; n++) {
        if (n === E / 2) await stopProcess(workers[0], 'SIGKILL');
        await Promise.all(ids.map((id) => client.send(id, { type: 'add', n } as never)));
      }
      for (const id of ids) {
        const rec = await client.waitFor(id, (r) => (r.snapshot as any).context.seen.length >= E, { timeoutMs: 60_000 });
        assert.deepEqual((rec.snapshot as any).context.seen, Array.from({ length: E }, (_, i) => i), `events of ${id} applied out of order or twice`);
        assert.equal(rec.version, E + 1);
      }
    } finally {
      await client.close();
      await Promise.all(workers.map((w) => stopProcess(w)));
    }
  });
});
