import type { ConnectionOptions, Job } from 'bullmq';
import { Queue, Worker } from '../util/bullmq.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { duplicateRedis, processIdentity, redisStatusOf } from '../util/redis.js';
import type { JobSpec } from './spec.js';

/** The data of one scheduled firing: which job to invoke. */
export interface InvokeJobData {
  job: string;
}

/** When a firing was due: a scheduler's job id ends with it (`repeat:<job>:<ms>`), else creation plus delay. */
export function firingTime(job: Pick<Job, 'id' | 'timestamp' | 'delay'>): number {
  const m = /:(\d{10,})$/.exec(job.id ?? '');
  return m ? Number(m[1]) : job.timestamp + (job.delay ?? 0);
}

/**
 * Job schedules as BullMQ job schedulers (one per job, id = job name) on the `jobs` queue. Each
 * firing is a BullMQ job that some worker process turns into a job invocation; BullMQ makes sure
 * one firing is taken by one worker, whatever the number of workers.
 */
export class JobScheduler {
  readonly queue: Queue<InvokeJobData>;
  private worker: Worker<InvokeJobData> | null = null;

  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly log: Logger) {
    this.queue = new Queue<InvokeJobData>('jobs', { connection: redis as unknown as ConnectionOptions, prefix });
    // without listeners a lost Redis prints multi-line dumps on stderr (BullMQ, ioredis); an outage is logged once
    this.queue.on('error', (err) => redisStatusOf(redis).error(err, { queue: 'jobs' }));
  }

  /** Creates or replaces the job's schedule; a job without one has its scheduler removed. */
  async apply(spec: JobSpec): Promise<void> {
    const s = spec.schedule;
    if (!s) {
      await this.queue.removeJobScheduler(spec.name);
      return;
    }
    const repeat = 'everyMs' in s ? { every: s.everyMs } : { pattern: s.cron, ...(s.timezone ? { tz: s.timezone } : {}) };
    await this.queue.upsertJobScheduler(spec.name, repeat, {
      name: 'invoke',
      data: { job: spec.name },
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
    });
  }

  async remove(name: string): Promise<void> {
    await this.queue.removeJobScheduler(name);
  }

  /** epoch ms of the job's next scheduled firing, or null */
  async nextRunAt(name: string): Promise<number | null> {
    const s = await this.queue.getJobScheduler(name);
    return s?.next ?? null;
  }

  /** Takes firings in this process; `invoke` gets the job name and the firing's scheduled time. */
  startWorker(invoke: (name: string, at: number, job: Job<InvokeJobData>) => Promise<unknown>): void {
    const connection = duplicateRedis(this.redis, { maxRetriesPerRequest: null }, 'worker:jobs');
    this.worker = new Worker<InvokeJobData>('jobs', (job) => invoke(job.data.job, firingTime(job), job), {
      connection: connection as unknown as ConnectionOptions, prefix: this.prefix, concurrency: 4, name: processIdentity(),
    });
    this.worker.on('error', (err) => redisStatusOf(this.redis).error(err, { queue: 'jobs' }));
    this.worker.on('failed', (job, err) => this.log.warn({ err: err.message, queue: 'jobs', job: job?.data.job }, 'job invocation failed'));
    this.worker.on('closed', () => connection.disconnect());
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
