/**
 * How a machine waits after temporary failures; one policy for every machine. Filesystem steps,
 * planning and job snapshots wait by attempt count (`backoffMs`) and give up after `maxAttempts`;
 * a partition keeps its current wait in context (`doubledWaitMs`, `halvedWaitMs`) and never gives up.
 */
export interface RetryPolicy {
  /** first wait after a temporary failure, in milliseconds; a partition's wait never halves below it */
  initialMs: number;
  /** the wait doubles after each further failure, up to this many milliseconds */
  maxMs: number;
  /**
   * attempts per unit of work (a step, a planning), the first one included; after this many
   * temporary failures in a row the unit gives up with a permanent error. Absent, 0 (or a
   * non-finite number) means no limit.
   */
  maxAttempts?: number;
}

/** The design's backoff for temporary failures: 5 s, doubling up to 5 min; each machine sets its own limit. */
export const DEFAULT_BACKOFF: Readonly<RetryPolicy> = Object.freeze({ initialMs: 5_000, maxMs: 300_000 });
