import { targetWaitMs, type EffectError } from './effect.js';

// the policy's type and default live in backoff.ts (no imports: the CLI reads the default without loading xstate)
export { DEFAULT_BACKOFF, type RetryPolicy } from './backoff.js';
import type { RetryPolicy } from './backoff.js';

/**
 * Pure: the wait before attempt `attempt + 1`, after `attempt` (>= 1) failures in a row:
 * initialMs * 2^(attempt-1), capped at maxMs.
 */
export function backoffMs(retry: RetryPolicy, attempt: number): number {
  const initial = Math.max(0, retry.initialMs);
  const max = Math.max(initial, retry.maxMs);
  const exponent = Math.max(0, attempt - 1);
  // 2^exponent overflows to Infinity for large exponents; Math.min caps it.
  return Math.min(max, initial * 2 ** exponent);
}

/** Pure: whether `attempts` failed attempts in a row use up the policy. */
export function attemptsExhausted(retry: RetryPolicy, attempts: number): boolean {
  const max = retry.maxAttempts;
  return typeof max === 'number' && Number.isFinite(max) && max > 0 && attempts >= max;
}

/**
 * Pure: the wait after a TARGET_UNHEALTHY refusal (which counts no attempt): the error's own wait,
 * else (an error from an older worker) the backoff after the failures so far (0 failures: as 1).
 * One rule for every machine that waits for an unhealthy agent.
 */
export function unhealthyWaitMs(retry: RetryPolicy, attempt: number, error: EffectError): number {
  return targetWaitMs(error, backoffMs(retry, attempt));
}

/** Pure: the wait after `currentMs` has passed without success: twice as long, up to maxMs. */
export function doubledWaitMs(retry: RetryPolicy, currentMs: number): number {
  return Math.min(retry.maxMs, currentMs * 2);
}

/** Pure: the wait after a success: half of `currentMs`, down to initialMs. */
export function halvedWaitMs(retry: RetryPolicy, currentMs: number): number {
  return Math.max(retry.initialMs, Math.floor(currentMs / 2));
}

/**
 * Pure: a wait window from input that may be partial or malformed: a missing or non-positive
 * `initialMs` or `maxMs` takes the default's, and `maxMs` is at least `initialMs`. `maxAttempts`
 * is not carried over: the result never gives up (what a partition needs).
 */
export function resolveWaitWindow(retry: Partial<RetryPolicy> | undefined, defaults: RetryPolicy): RetryPolicy {
  const initial = Number(retry?.initialMs);
  const max = Number(retry?.maxMs);
  const initialMs = Number.isFinite(initial) && initial > 0 ? initial : defaults.initialMs;
  const maxMs = Number.isFinite(max) && max > 0 ? Math.max(initialMs, max) : Math.max(initialMs, defaults.maxMs);
  return { initialMs, maxMs };
}
