import type { ConnectionOptions, Job } from 'bullmq';
import { Worker } from '../util/bullmq.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { duplicateRedis, processIdentity, redisStatusOf } from '../util/redis.js';
import { QUEUE_NAMES, type QueueName } from './queues.js';
import type { Watchdog } from './watchdog.js';
import { DEFAULT_EFFECT_CONCURRENCY } from './types.js';


export interface WorkerOptions {
  /** drain jobs in flight (distinct machines) per process. @defaultValue 50 */
  drainConcurrency?: number;
  /** effects running at once per process. @defaultValue 8 */
  effectConcurrency?: number;
  /** lock of an active job, in milliseconds; a dead worker's job is retried after it lapses. @defaultValue 30000 */
  lockDurationMs?: number;
  /** how often stalled jobs are looked for, in milliseconds; give every worker the same value. @defaultValue 30000 */
  stalledIntervalMs?: number;
  /** how often the watchdog checks running effects, in milliseconds. @defaultValue 5000 */
  watchdogIntervalMs?: number;
  /** times a job's worker may die (its lock lapse) before BullMQ fails the job; the machine then hears of it. @defaultValue 5 */
  maxStalledCount?: number;
  /** how often this process offers to run the reconciler's pass (one worker of the cluster takes each turn), in milliseconds; 0: never. @defaultValue 60000 */
  reconcileIntervalMs?: number;
  /** how long a problem the reconciler found must stay unchanged before it is repaired, in milliseconds. @defaultValue 5000 */
  reconcileGraceMs?: number;
  /** how long finished machines are kept before this process's reconciler passes remove them, in milliseconds; 0: for good (docs/engine.md "Retention"). @defaultValue the engine's finishedRetentionMs */
  finishedRetentionMs?: number;
  /**
   * Whether the first reconciler offer is at start (a long-running worker: it repairs what a crash
   * left) or one interval later (a command that runs its machine and exits: its start does not scan
   * every machine record in Redis). @defaultValue true
   */
  reconcileAtStart?: boolean;
  /** which queues this process works on. @defaultValue all */
  roles?: QueueName[];
}

export type Processor = (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>;

export interface EngineWorkersDeps {
  /** duplicated for each worker: BullMQ blocks on a worker's connection */
  redis: Redis;
  prefix: string;
  log: Logger;
  /** started with the effects worker */
  watchdog: Watchdog;
  processors: Record<QueueName, Processor>;
  /** called when BullMQ fails a job of the queue for good (no attempts left, or stalled too often) */
  onFailedForGood: Partial<Record<QueueName, (job: Job, err: Error) => Promise<unknown>>>;
}

/** timer jobs handled at once per process: each only appends to an inbox */
const TIMER_CONCURRENCY = 20;

/**
 * A process's BullMQ workers on the engine's queues, each on a connection of its own that this
 * class made and closes (never the connection it was given).
 */
export class EngineWorkers {
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];

  constructor(private readonly d: EngineWorkersDeps) {}

  start(opts: WorkerOptions = {}): void {
    const roles = new Set(opts.roles ?? QUEUE_NAMES);
    const common = {
      prefix: this.d.prefix,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: opts.maxStalledCount ?? 5,
    };
    const concurrency: Record<QueueName, number> = {
      drain: opts.drainConcurrency ?? 50,
      effects: opts.effectConcurrency ?? DEFAULT_EFFECT_CONCURRENCY,
      timers: TIMER_CONCURRENCY,
    };
    for (const name of QUEUE_NAMES) {
      if (!roles.has(name)) continue;
      const w = new Worker(name, this.d.processors[name], {
        ...common, connection: this.connection(name) as unknown as ConnectionOptions, concurrency: concurrency[name],
        // CLIENT LIST and BullMQ's getWorkers show which host and process each worker is
        name: processIdentity(),
      });
      // an outage (every worker's every poll fails) is logged once by the status, not per error
      w.on('error', (err) => redisStatusOf(this.d.redis).error(err, { queue: name }));
      w.on('failed', (job, err) => this.failed(name, job, err));
      this.workers.push(w);
    }
    if (roles.has('effects')) this.d.watchdog.start(opts.watchdogIntervalMs ?? 5000);
  }

  /** Stops the watchdog, closes the workers (waiting for their running jobs) and their connections. */
  async close(): Promise<void> {
    this.d.watchdog.stop();
    await Promise.all(this.workers.map((w) => w.close()));
    for (const c of this.connections) c.disconnect();
  }

  private failed(queue: QueueName, job: Job | undefined, err: Error): void {
    // BullMQ sets finishedOn only when it gives up; otherwise the job is retried
    const forGood = typeof job?.finishedOn === 'number';
    this.d.log.warn({ err: err.message, queue, jobId: job?.id, forGood }, forGood ? 'job failed for good' : 'job failed; retried');
    const handler = this.d.onFailedForGood[queue];
    if (!job || !forGood || !handler) return;
    // if this fails too (Redis gone), the reconciler finds the failed job later
    handler(job, err).catch((e: Error) => this.d.log.warn({ err: e.message, queue, jobId: job.id }, 'a failed job could not be reported to its machine'));
  }

  private connection(queue: QueueName): Redis {
    const c = duplicateRedis(this.d.redis, { maxRetriesPerRequest: null }, `worker:${queue}`);
    this.connections.push(c);
    return c;
  }
}
