/**
 * Capacity figures for sizing one Redis (docs/ha.md, *Sizing*), measured on the replica-wait
 * bench's primary (one replica, `--min-replicas 1`): Redis memory per idle machine, per running
 * machine (an effect queued or running, as a filesystem in a step or a partition archiving) and per
 * finished machine (with its completed effect job, kept a day; MEMORY USAGE of the keys), and Redis commands per transition
 * of such a machine's life (INFO commandstats delta over the transitions logged; BullMQ's and the
 * WAITs included, the bench's own polling left out). Knob: BENCH_CAP_MACHINES (2000).
 */
import { Redis } from 'ioredis';
import { assign, setup } from 'xstate';
import { effect } from '../machines/effect.js';
import { Engine, openRedis, type Registry } from '../src/engine/index.js';
import { makeKeys } from '../src/engine/keys.js';
import { createLogger } from '../src/util/logger.js';
import { envInt, pool, round, sleep, startUsage } from './lib.js';

/** the size of a replication step's input (endpoints, filesystem, snapshot names and GUIDs), about */
const PAYLOAD_BYTES = 400;

/** Idle until `go`, then Working with one effect, then Done: the life of a step or an archive batch. */
const holdMachine = setup({
  types: { input: {} as { payload: string }, context: {} as { payload: string; steps: number }, events: {} as { type: 'go' } },
  actors: { hold: effect<{ payload: string }, { ok: true }>() },
}).createMachine({
  id: 'hold',
  initial: 'Idle',
  context: ({ input }) => ({ payload: input.payload, steps: 0 }),
  states: {
    Idle: { on: { go: 'Working' } },
    Working: {
      invoke: { src: 'hold', id: 'hold', input: ({ context }) => ({ payload: context.payload }), onDone: { target: 'Done', actions: assign({ steps: ({ context }) => context.steps + 1 }) } },
    },
    Done: { type: 'final' },
  },
});

export interface CapacityReport {
  machines: number;
  /** bytes of Redis memory per machine: created and waiting for an event; with an effect in flight; final (its effect job kept) */
  perIdleMachineBytes: number;
  perRunningMachineBytes: number;
  perFinishedMachineBytes: number;
  /** bytes per transition log entry */
  perLoggedTransitionBytes: number;
  /** Redis commands per transition over the machines' life (event → Working with an effect → Done) */
  commandsPerTransition: number;
  /** the commands that make most of them, per transition */
  topCommandsPerTransition: Record<string, number>;
  ok: boolean;
}

/**
 * Memory of this bench's keys (the engine's and its BullMQ queues', all under `prefix`), the
 * transition log apart: MEMORY USAGE of each key, which used_memory's allocator noise does not blur.
 */
async function keysMemory(admin: Redis, prefix: string, logKey: string): Promise<{ used: number; log: number }> {
  let used = 0;
  let log = 0;
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    const sizes = (await admin.pipeline(keys.map((k) => ['memory', 'usage', k, 'SAMPLES', '0'])).exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = Number(sizes[i][1] ?? 0);
      if (k === logKey) log = bytes;
      else used += bytes;
    });
  } while (cursor !== '0');
  return { used: used + log, log };
}

const POLLING = new Set(['xlen', 'info', 'memory|usage', 'config|resetstat', 'config', 'memory', 'scan']);

export async function runCapacity(redisUrl: string): Promise<CapacityReport> {
  const N = envInt('BENCH_CAP_MACHINES', 2000);
  const prefix = `bench-capacity-${process.pid}`;
  const keys = makeKeys(prefix);
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const registry: Registry = {
    machines: { hold: { machine: holdMachine, version: '1' } },
    effects: {
      hold: {
        timeoutMs: 600_000,
        async run(_input, ctx) {
          while (!(await Promise.race([released.then(() => true), sleep(1000).then(() => false)]))) ctx.progress({ bytes: 0 });
          return { ok: true };
        },
      },
    },
  };
  const redis = openRedis(redisUrl);
  const admin = new Redis(redisUrl);
  const engine = new Engine({ redis, prefix, registry, logger: createLogger({ level: 'warn', pretty: false }), replicas: { minReplicas: 1, timeoutMs: 5000 } });
  try {
    engine.startWorkers({ drainConcurrency: 50, effectConcurrency: 16 });
    const logged = (n: number) => (async () => { while ((await admin.xlen(keys.transitions)) < n) await sleep(200); })();
    const net = (m: { used: number; log: number }) => m.used - m.log;
    const before = await keysMemory(admin, prefix, keys.transitions);
    const stop = await startUsage(admin);
    await pool(N, 200, (i) => engine.start('hold', `h${i}`, { payload: 'x'.repeat(PAYLOAD_BYTES) }));
    await logged(N);
    const idle = await keysMemory(admin, prefix, keys.transitions);
    await pool(N, 200, (i) => engine.send(`h${i}`, { type: 'go' }));
    await logged(2 * N);
    await sleep(1000); // the last effect jobs queued
    const running = await keysMemory(admin, prefix, keys.transitions);
    release();
    await logged(3 * N);
    await sleep(1000);
    const usage = await stop();
    const done = await keysMemory(admin, prefix, keys.transitions);
    const transitions = await admin.xlen(keys.transitions);
    const own = Object.entries(usage.redisCommandStats).filter(([name]) => !POLLING.has(name));
    const commands = own.reduce((n, [, c]) => n + c, 0);
    const top = Object.fromEntries(own.sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, c]) => [name, round(c / transitions, 2)]));
    return {
      machines: N,
      perIdleMachineBytes: round((net(idle) - net(before)) / N),
      perRunningMachineBytes: round((net(running) - net(before)) / N),
      perFinishedMachineBytes: round((net(done) - net(before)) / N),
      perLoggedTransitionBytes: round((done.log - before.log) / transitions),
      commandsPerTransition: round(commands / transitions, 1),
      topCommandsPerTransition: top,
      ok: transitions === 3 * N,
    };
  } finally {
    release();
    await engine.close();
    redis.disconnect();
    admin.disconnect();
  }
}

export function formatCapacity(c: CapacityReport): string {
  const top = Object.entries(c.topCommandsPerTransition).map(([n, v]) => `${n} ${v}`).join(', ');
  return [
    `capacity (${c.machines} machines, each: created, an event, an effect, done; docs/ha.md Sizing):`,
    `  redis memory per machine: idle ${c.perIdleMachineBytes} B, running (effect in flight) ${c.perRunningMachineBytes} B, finished ${c.perFinishedMachineBytes} B; ${c.perLoggedTransitionBytes} B per logged transition`,
    `  ${c.commandsPerTransition} redis commands per transition (${top})`,
  ].join('\n');
}
