import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EventObject } from 'xstate';

/** An effect job: run `src` for the machine's child `childId`, registered under `key`. */
export interface EffectJobData { machineId: string; childId: string; key: string; src: string; input: unknown }
/** A timer job: when due, deliver `event` to the machine, if its timer `sendId` still has `key`. */
export interface TimerJobData { machineId: string; sendId: string; key: string; event: EventObject }

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
  }

  async scheduleDrain(id: string): Promise<void> {
    // at most one drain per machine active, one more waiting: events are applied one machine-step at a time
    await this.drain.add('drain', { id }, { deduplication: { id, keepLastIfActive: true }, removeOnComplete: true, removeOnFail: 1000 });
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
