/**
 * The commit guarantee's cost (docs/ha.md): engine transitions/s with `--min-replicas 1` (Redis WAIT
 * after each group of commits) beside the figure with `--min-replicas 0`, on the same primary with
 * one replica, in the same run: `BENCH_PARTS=replica-wait npm run bench`, or alone
 * (`node --import tsx bench/replica-wait.bench.ts`). Knobs: BENCH_RW_MACHINES (500),
 * BENCH_RW_EVENTS_PER_MACHINE (10), BENCH_SEND_CONCURRENCY (200), BENCH_DRAIN_CONCURRENCY (50).
 * Then the capacity figures on the same primary (bench/ha-capacity.ts, BENCH_CAP_MACHINES).
 */
import { Redis } from 'ioredis';
import type { Engine } from '../src/engine/index.js';
import { metricValue, runEngineLoad, type EngineResult } from './engine.bench.js';
import { envInt, printReport, round, runIfMain } from './lib.js';
import { startTestRedis } from '../test/helpers/redis.js';
import { formatCapacity, runCapacity, type CapacityReport } from './ha-capacity.js';

export interface ReplicaWaitReport {
  machines: number;
  events: number;
  /** transitions/s without waiting for the replica (mean of two runs, A B B A order) */
  withoutWait: number;
  /** transitions/s waiting for one replica after each commit */
  withWait: number;
  /** withWait / withoutWait */
  ratio: number;
  /** WAIT commands the primary ran per event with --min-replicas 1 (group commit: fewer than one per commit; 0 when not among the 12 most frequent commands) */
  waitsPerEvent: number;
  /** commits whose WAIT timed out during the run (should be 0 on loopback) */
  waitTimeouts: number;
  p99MsWithout: number;
  p99MsWith: number;
  verified: boolean;
  /** Redis memory per machine and commands per transition, with the replica wait on (bench/ha-capacity.ts) */
  capacity: CapacityReport;
  ok: boolean;
}

async function replicated(primaryPort: number, replicaUrl: string): Promise<void> {
  const admin = new Redis(replicaUrl);
  try {
    await admin.call('REPLICAOF', '127.0.0.1', String(primaryPort));
    for (let i = 0; i < 200; i++) {
      if (/master_link_status:up/.test(String(await admin.info('replication')))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the replica did not sync within 10 s');
  } finally {
    admin.disconnect();
  }
}

export async function runReplicaWaitBench(): Promise<ReplicaWaitReport> {
  const primary = await startTestRedis();
  const replica = await startTestRedis();
  try {
    await replicated(primary.port, replica.url);
    const load = {
      machines: envInt('BENCH_RW_MACHINES', 500), eventsPerMachine: envInt('BENCH_RW_EVENTS_PER_MACHINE', 10),
      sendConcurrency: envInt('BENCH_SEND_CONCURRENCY', 200), drainConcurrency: envInt('BENCH_DRAIN_CONCURRENCY', 50), phaseTimeoutMs: 300_000,
    };
    let timeouts = 0;
    const run = async (minReplicas: number): Promise<EngineResult> => {
      let engine: Engine | null = null;
      const result = await runEngineLoad(primary.url, { ...load, replicas: { minReplicas, timeoutMs: 5000 }, onEngine: (e) => { engine = e; } });
      timeouts += await metricValue(engine!.metrics.commitReplicaTimeouts);
      return result;
    };
    // A B B A: a drift over the run (JIT warm-up, a busy neighbour) weighs on both sides alike
    const a1 = await run(0);
    const b1 = await run(1);
    const b2 = await run(1);
    const a2 = await run(0);
    const mean = (x: EngineResult, y: EngineResult): EngineResult => ({
      ...x, transitionsPerSec: round((x.transitionsPerSec + y.transitionsPerSec) / 2), p99Ms: Math.max(x.p99Ms, y.p99Ms),
      verified: { ...x.verified, ok: x.verified.ok && y.verified.ok },
    });
    // commandstats are reset per load: read the WAITs per event of the runs that waited
    const waitsPerEvent = (r: EngineResult) => r.usage.topRedisCommands.wait ?? 0;
    const waitsPerEventWith = round((waitsPerEvent(b1) + waitsPerEvent(b2)) / 2);
    const capacity = await runCapacity(primary.url);
    const without = mean(a1, a2);
    const withWait = mean(b1, b2);
    return {
      machines: load.machines, events: withWait.events,
      withoutWait: without.transitionsPerSec, withWait: withWait.transitionsPerSec,
      ratio: round(withWait.transitionsPerSec / Math.max(1, without.transitionsPerSec)),
      waitsPerEvent: waitsPerEventWith, waitTimeouts: timeouts, p99MsWithout: without.p99Ms, p99MsWith: withWait.p99Ms,
      verified: without.verified.ok && withWait.verified.ok,
      capacity,
      ok: without.verified.ok && withWait.verified.ok && capacity.ok,
    };
  } finally {
    await replica.stop();
    await primary.stop();
  }
}

export function formatReplicaWaitReport(r: ReplicaWaitReport): string {
  return [
    `replica wait (primary + 1 replica, ${r.machines} machines, ${r.events} events; docs/ha.md):`,
    `  --min-replicas 0: ${r.withoutWait} transitions/s (p99 ${r.p99MsWithout} ms)`,
    `  --min-replicas 1: ${r.withWait} transitions/s (p99 ${r.p99MsWith} ms), ${r.ratio} of the figure without WAIT`,
    `  ${r.waitsPerEvent > 0 ? r.waitsPerEvent : 'under 0.01'} WAITs per event (group commit), ${r.waitTimeouts} timed out`,
    `  every event applied once, in order: ${r.verified ? 'yes' : 'NO'}`,
    formatCapacity(r.capacity),
  ].join('\n');
}

export async function main(): Promise<void> {
  printReport(await runReplicaWaitBench(), formatReplicaWaitReport, (r) => JSON.stringify(r));
}

runIfMain(import.meta.url, main);
