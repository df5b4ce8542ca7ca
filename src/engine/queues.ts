import type { ConnectionOptions } from 'bullmq';
import { Queue } from '../util/bullmq.js';
import type { Redis } from 'ioredis';
import type { EventObject } from 'xstate';
import { redisStatusOf } from '../util/redis.js';

/** An effect job: run `src` for the machine's child `childId`, registered under `key`. */
export interface EffectJobData { machineId: string; childId: string; key: string; src: string; input: unknown }
/** A timer job: when due, deliver `event` to the machine, if its timer `sendId` still has `key`. */
export interface TimerJobData { machineId: string; sendId: string; key: string; event: EventObject }

/** What the reconciler learns of a job: BullMQ's state, or 'missing' when there is no such job. */
export type JobState = 'waiting' | 'active' | 'delayed' | 'prioritized' | 'waiting-children' | 'completed' | 'failed' | 'missing';

/** Pure: whether a job in this state will never run (again), so whoever waits on it waits forever. */
export function isGone(state: JobState): boolean {
  return state === 'missing' || state === 'failed' || state === 'completed';
}

/**
 * BullMQ retries of a drain or timer job that failed (Redis went away mid-job, replicas did not
 * confirm a commit): 0.5 s doubling, about a minute in all, so that the retries outlast a Sentinel
 * failover and its replicas' resync (three in 3 s left the machine to the reconciler's next pass,
 * up to an interval later); the reconciler covers the rest.
 */
const INFRA_ATTEMPTS = { attempts: 8, backoff: { type: 'exponential', delay: 500 } };

export type QueueName = 'drain' | 'effects' | 'timers';
export const QUEUE_NAMES: readonly QueueName[] = ['drain', 'effects', 'timers'];

/**
 * The engine's three BullMQ queues, on the connection it was given (queues do not block on it):
 * drain jobs (one per machine with events waiting), effect jobs and delayed timer jobs.
 */
export class EngineQueues {
  readonly drain: Queue;
  readonly effects: Queue;
  readonly timers: Queue;

  constructor(redis: Redis, prefix: string) {
    const connection = redis as unknown as ConnectionOptions;
    this.drain = new Queue('drain', { connection, prefix });
    this.effects = new Queue('effects', { connection, prefix });
    this.timers = new Queue('timers', { connection, prefix });
    // without a listener BullMQ prints every connection error as a multi-line dump on stderr; an outage is logged once
    const status = redisStatusOf(redis);
    for (const name of QUEUE_NAMES) this[name].on('error', (err) => status.error(err, { queue: name }));
  }

  /**
   * Schedules the machine's drain. `replaceStale` (the reconciler's repair): first drop a deduplication
   * key whose job is gone, which would otherwise keep every new drain out.
   */
  async scheduleDrain(id: string, opts: { replaceStale?: boolean } = {}): Promise<void> {
    if (opts.replaceStale && isGone(await this.drainState(id))) await this.drain.removeDeduplicationKey(id);
    // at most one drain per machine active, one more waiting: events are applied one machine-step at a time
    await this.drain.add('drain', { id }, { deduplication: { id, keepLastIfActive: true }, removeOnComplete: true, removeOnFail: 1000, ...INFRA_ATTEMPTS });
  }

  /** Options of a timer job (see dispatch.ts). */
  timerJobOptions(jobId: string, delay: number) {
    return { jobId, delay: Math.max(0, delay), removeOnComplete: { age: 86_400 }, removeOnFail: { age: 86_400 }, ...INFRA_ATTEMPTS };
  }

  async jobState(queue: QueueName, jobId: string): Promise<JobState> {
    const state = await this[queue].getJobState(jobId);
    return state === 'unknown' ? 'missing' : (state as JobState);
  }

  /** The state of the machine's drain job; 'missing' when none is queued or running (or its deduplication key names a job that is gone). */
  async drainState(id: string): Promise<JobState> {
    const jobId = await this.drain.getDeduplicationJobId(id);
    return jobId ? this.jobState('drain', jobId) : 'missing';
  }

  /** job counts by queue and state */
  async counts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const name of QUEUE_NAMES) out[name] = await this[name].getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
    return out;
  }

  /** Closes the queues; the connection stays open (its owner closes it). */
  async close(): Promise<void> {
    await Promise.all(QUEUE_NAMES.map((name) => this[name].close()));
  }
}
