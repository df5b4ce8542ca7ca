import type { Logger } from 'pino';
import { Engine } from '../engine/engine.js';
import { mergeRegistries } from '../engine/merge-registries.js';
import { systemClock } from '../engine/types.js';
import type { InspectFn } from '../engine/inspection.js';
import { archiverRegistry } from '../archiver/registry.js';
import { TargetHealth } from '../health/target-health.js';
import { FerryMetrics } from '../observability/metrics.js';
import { createLogger } from '../util/logger.js';
import type { Redis } from 'ioredis';
import type { RedisStatus } from '../util/redis-status.js';
import type { RedisSettings } from '../util/redis-target.js';
import type { ReplicaWaitOptions } from '../engine/replica-wait.js';
import { replicationRegistry } from '../replication/registry.js';
import { jobRegistry } from '../jobs/registry.js';
import { JobScheduler } from '../jobs/scheduler.js';
import { JobStore } from '../jobs/store.js';
import { invokeJob } from '../jobs/invoke.js';
import { LocalOrchestrator } from '../service/local-orchestrator.js';
import { ConfigStore } from '../config/store.js';
import type { TargetView } from '../service/views.js';
import { targetViews } from '../service/run-views.js';
import { connectRedis } from './redis-connection.js';
import { EXIT_FORCED, stoppedByClosedStdout, stopRequested } from './shutdown.js';
import { DEFAULT_FINISHED_RETENTION_MS } from './history-option.js';

export interface GlobalOptions {
  prefix: string;
  logLevel?: string;
  /** where Redis is (flags over the environment); none: the environment, else an embedded server */
  redis?: RedisSettings;
  /** the replicas a commit waits for (docs/ha.md) */
  replicas?: ReplicaWaitOptions;
  /** how long a command waits for an unreachable Redis before it fails (exit 3), in milliseconds. @defaultValue 30000 */
  redisWaitMs?: number;
}

/** the bound of a one-shot command's wait for Redis, in milliseconds */

export interface App {
  /** aborted on the first SIGINT/SIGTERM or a closed stdout (src/cli/shutdown.ts); commands that stop gracefully watch it */
  interrupted: AbortSignal;
  engine: Engine;
  log: Logger;
  metrics: FerryMetrics;
  jobs: JobStore;
  scheduler: JobScheduler;
  /** what the last `ferry apply` recorded (docs/config.md) */
  config: ConfigStore;
  /** jobs, runs, signals, partitions and transitions over this process's Redis */
  orchestrator: LocalOrchestrator;
  /** health of the agents behind grpc:// endpoints, shared in Redis (see docs/health.md) */
  health: TargetHealth;
  /** the app's Redis connection (the live view's bull-board reads the engine's queues over it) */
  redis: Redis;
  /**
   * Resolves on the next transition this process commits in the run `rootId` (its machine or a
   * child), or after `timeoutMs`: a command that follows a run wakes when its own workers move it,
   * and reads again now and then for workers in other processes.
   */
  nextCommit(rootId: string, timeoutMs: number): Promise<void>;
  /** up or down: this process's view of Redis (gRPC health, ferry_redis_up) */
  redisStatus: RedisStatus;
  close(): Promise<void>;
}

/** Redis (given or embedded), the engine with ferry's machines, and an orderly shutdown. */
export async function openApp(g: GlobalOptions, opts: {
  workers: boolean; effectConcurrency?: number; lockDurationMs?: number; stalledIntervalMs?: number; reconcileIntervalMs?: number;
  /** the command ends by itself on interruption (prints its summary); a second signal, or the shutdown bound, still exits */
  graceful?: boolean;
  /** the metrics registry to count into (e.g. one with Node default metrics, for `ferry serve`) */
  metrics?: FerryMetrics;
  /** receives the engine's inspection events (see src/observability/inspector-bridge.ts) */
  inspect?: InspectFn;
  /** the health checker's view of the agents, for the orchestrator's ListTargets */
  targets?: () => Promise<TargetView[]>;
  /** `ferry serve` and `ferry worker`: wait out any Redis outage instead of failing after --redis-wait-ms */
  outlivesOutages?: boolean;
  /** the reconciler's first offer at start (`ferry worker`); by default one interval later, which a one-shot command seldom reaches */
  reconcileAtStart?: boolean;
  /** how long finished machines are kept, in ms (`--history-days`); 0: for good. @defaultValue 30 days */
  finishedRetentionMs?: number;
}): Promise<App> {
  const log = createLogger({ level: g.logLevel ?? process.env.FERRY_LOG_LEVEL ?? 'warn' });
  const metrics = opts.metrics ?? new FerryMetrics();
  // one connection for the engine, the stores and the health records; the engine's workers duplicate it
  const { conn, status, close: closeRedis } = await connectRedis(g, log, { outlivesOutages: opts.outlivesOutages });
  const health = new TargetHealth({ redis: conn, prefix: g.prefix, log });
  const registry = mergeRegistries(
    replicationRegistry({ metrics, health }),
    jobRegistry({ health }),
    archiverRegistry({ metrics, redis: conn, prefix: g.prefix, clock: systemClock }),
  );
  const waiting = new Map<string, Set<() => void>>();
  const inspect: InspectFn = (e) => {
    opts.inspect?.(e);
    const wake = e.type === '@xstate.snapshot' ? waiting.get(e.rootId) : undefined;
    if (wake) for (const fn of [...wake]) fn();
  };
  const nextCommit = (rootId: string, timeoutMs: number) => new Promise<void>((resolve) => {
    const set = waiting.get(rootId) ?? new Set();
    waiting.set(rootId, set);
    const done = () => {
      clearTimeout(timer);
      set.delete(done);
      if (set.size === 0) waiting.delete(rootId);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs).unref();
    set.add(done);
  });
  const engine = new Engine({
    redis: conn, prefix: g.prefix, registry, logger: log, metrics, inspect, replicas: g.replicas,
    finishedRetentionMs: opts.finishedRetentionMs ?? DEFAULT_FINISHED_RETENTION_MS,
    onEmit: (rec, e) => {
      if (e.type === 'archive.gap') metrics.walGaps.inc({ storage: String((e as { storage?: unknown }).storage ?? '') });
    },
  });
  const jobs = new JobStore(conn, g.prefix);
  const scheduler = new JobScheduler(conn, g.prefix, log);
  const orchestrator = new LocalOrchestrator({ engine, jobs, scheduler, metrics, targets: opts.targets ?? (async () => targetViews(await health.list())) });
  if (opts.workers) startAppWorkers({ engine, jobs, scheduler }, { ...opts, reconcileAtStart: opts.reconcileAtStart ?? false });
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= (async () => {
    await closeRedis(async () => {
      await scheduler.close();
      await engine.close();
    });
    log.flush?.();
  })());
  // a command that does not stop by itself is stopped here; the bound of src/cli/shutdown.ts holds either way
  const onStop = () => {
    if (!stoppedByClosedStdout()) process.stderr.write(`ferry: ${String(stopRequested.reason)}: stopping (work in progress resumes on the next run)\n`);
    close().finally(() => process.exit(stoppedByClosedStdout() ? 0 : EXIT_FORCED));
  };
  if (!opts.graceful) stopRequested.addEventListener('abort', onStop, { once: true });
  const closeApp = () => {
    stopRequested.removeEventListener('abort', onStop);
    return close();
  };
  return { interrupted: stopRequested, engine, log, metrics, health, redis: conn, redisStatus: status, jobs, scheduler, config: new ConfigStore(conn, g.prefix), orchestrator, nextCommit, close: closeApp };
}

/** This process's workers: the engine's queues and the job schedules' firings. */
export function startAppWorkers(app: Pick<App, 'engine' | 'jobs' | 'scheduler'>, opts: { lockDurationMs?: number; stalledIntervalMs?: number; effectConcurrency?: number; reconcileIntervalMs?: number; reconcileAtStart?: boolean; finishedRetentionMs?: number }): void {
  app.engine.startWorkers({
    lockDurationMs: opts.lockDurationMs ?? 30_000, stalledIntervalMs: opts.stalledIntervalMs ?? 30_000, effectConcurrency: opts.effectConcurrency, reconcileIntervalMs: opts.reconcileIntervalMs,
    reconcileAtStart: opts.reconcileAtStart, finishedRetentionMs: opts.finishedRetentionMs,
  });
  app.scheduler.startWorker(async (name, at) => {
    // a firing of a deleted job (its scheduler removed a moment too late) does nothing
    const job = await app.jobs.get(name);
    if (!job) return { skipped: 'no such job' };
    return invokeJob(app.engine, app.jobs, name, at, job);
  });
}
