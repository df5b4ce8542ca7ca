import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { QUEUE_NAMES, type QueueName } from './queues.js';
import type { Watchdog } from './watchdog.js';

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
      maxStalledCount: 5,
    };
    const concurrency: Record<QueueName, number> = {
      drain: opts.drainConcurrency ?? 50,
      effects: opts.effectConcurrency ?? 8,
      timers: TIMER_CONCURRENCY,
    };
    for (const name of QUEUE_NAMES) {
      if (!roles.has(name)) continue;
      const w = new Worker(name, this.d.processors[name], { ...common, connection: this.connection() as unknown as ConnectionOptions, concurrency: concurrency[name] });
      w.on('error', (err) => this.d.log.warn({ err: err.message, queue: name }, 'worker error'));
      w.on('failed', (job, err) => this.d.log.warn({ err: err.message, queue: name, jobId: job?.id }, 'job failed'));
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

  private connection(): Redis {
    const c = this.d.redis.duplicate({ maxRetriesPerRequest: null });
    c.on('error', (err) => this.d.log.debug({ err: err.message }, 'redis connection error'));
    this.connections.push(c);
    return c;
  }
}
