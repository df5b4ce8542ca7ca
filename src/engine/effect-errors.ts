import type { Job } from 'bullmq';
import { TemporaryError, toErrorData, type ErrorData } from '../errors/index.js';
import type { EffectJobData } from './queues.js';

/**
 * The errors the engine itself gives a machine when an effect job ended without a reply from the
 * effect: BullMQ gave up on the job, or the job is gone. All are temporary: the machine retries with
 * its own backoff and ends in its permanent error state, naming the cause, when its attempts run out.
 */
export const EFFECT_STALLED = 'EFFECT_STALLED';
/** the job failed for good with an error thrown out of the processor (not the effect's own error) */
export const EFFECT_FAILED = 'EFFECT_FAILED';
/** the job no longer exists (removed by hand, or lost with Redis data) */
export const EFFECT_LOST = 'EFFECT_LOST';
/** no worker that took the job had the effect registered */
export const EFFECT_UNKNOWN = 'EFFECT_UNKNOWN';

/** BullMQ's failedReason for a job whose worker died more than `maxStalledCount` times */
const STALLED_REASON = 'job stalled more than allowable limit';

/** Thrown by a worker that has no such effect registered (another version of ferry queued it). */
export function unknownEffect(src: string): TemporaryError {
  return new TemporaryError(`effect "${src}" is not registered in the worker that took its job (workers of another ferry version?)`, { code: EFFECT_UNKNOWN });
}

/** Pure: the error data for an effect job BullMQ failed for good, from its failure `reason`. */
export function givenUpError(data: EffectJobData, reason: unknown, attempts: { stalled?: number; made?: number }): ErrorData {
  const message = reason instanceof Error ? reason.message : String(reason ?? 'unknown reason');
  const what = `effect ${data.src} of ${data.machineId}`;
  if (message === STALLED_REASON) {
    return {
      name: 'EffectStalled', kind: 'temporary', code: EFFECT_STALLED,
      message: `${what}: its worker died ${attempts.stalled ?? 'too many'} times while running it (BullMQ: ${message})`,
    };
  }
  const thrown = toErrorData(reason);
  if (thrown.code === EFFECT_UNKNOWN) return thrown;
  return { name: 'EffectFailed', kind: 'temporary', code: EFFECT_FAILED, message: `${what} failed after ${attempts.made ?? 1} attempt(s): ${message}` };
}

/** Pure: the error data for an effect whose job is gone while its machine still waits for it. */
export function lostError(data: Pick<EffectJobData, 'src' | 'machineId' | 'key'>): ErrorData {
  return { name: 'EffectLost', kind: 'temporary', code: EFFECT_LOST, message: `effect ${data.src} of ${data.machineId}: its job ${data.key} no longer exists (found by the reconciler)` };
}

/** The reason and counts a failed job carries, as BullMQ stored them. */
export function failureOf(job: Job): { reason: string; stalled: number; made: number } {
  return { reason: job.failedReason ?? '', stalled: job.stalledCounter, made: job.attemptsMade };
}
