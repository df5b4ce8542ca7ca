import { TemporaryError } from '../errors/index.js';

/**
 * Streams have no deadline (a transfer takes as long as its bytes), so each wait of a stream (the
 * next message, room to write, the answer after the last byte) has a progress timeout instead: a
 * peer that goes silent that long has its call cancelled with a temporary error, and the machine
 * retries the step instead of waiting forever.
 */

/** How long a stream may go without progress; default of the remote driver and log source. */
export const DEFAULT_PROGRESS_TIMEOUT_MS = 120_000;

/** What a stalled stream fails with: temporary (the machines retry), coded DEADLINE_EXCEEDED as gRPC's own. */
export function stalledError(where: string, waitingFor: string, ms: number): TemporaryError {
  return new TemporaryError(`${where}: no progress for ${ms / 1000} s (waiting for ${waitingFor}): the call was cancelled`, {
    code: 'DEADLINE_EXCEEDED',
    details: { progressTimeoutMs: ms },
  });
}

/**
 * `wait`, or a rejection with `stalled()` when it has not settled within `ms`; `onStall` gets that
 * error first (to cancel the call with it). The timer is cleared when `wait` settles, so a finished
 * wait leaves nothing behind.
 */
export function withinProgress<T>(wait: Promise<T>, ms: number, stalled: () => Error, onStall: (err: Error) => void = () => {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = stalled();
      onStall(err);
      reject(err);
    }, ms);
  });
  return Promise.race([wait, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Channel and server options: while calls are open, each end pings the other every 30 s and drops
 * the connection when a ping goes unanswered for 20 s, so a peer that vanished (host down, network
 * cut: no reset ever arrives) fails its calls (UNAVAILABLE, or 'cancelled' on a server) instead of
 * leaving them open. grpc-js servers accept pings at any rate.
 */
export const KEEPALIVE_OPTIONS = { 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 20_000 } as const;
