import { Transform } from 'node:stream';
import { systemClock, type Clock } from './clock.js';

/** Time for the throttle: now, and a wait (a fake one in tests moves `now` forward without waiting). */
export interface ThrottleClock extends Clock {
  sleep(ms: number): Promise<void>;
}

export const systemThrottleClock: ThrottleClock = {
  now: systemClock.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket: `rate` bytes per second, up to `burst` bytes saved while idle. `take(n)` may run
 * into debt (a chunk larger than what is saved passes after the wait its debt costs), so chunks of
 * any size pass and the average over any stretch longer than burst/rate stays at `rate`.
 * Pure apart from the clock it is given.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /** bytes that went through take() */
  passedBytes = 0;
  /** milliseconds take() asked its callers to wait, in total */
  waitedMs = 0;

  constructor(readonly rate: number, readonly burst: number, private readonly clock: Clock) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`token bucket rate must be a positive number of bytes per second, not ${rate}`);
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Takes `n` bytes' worth of tokens; returns how long to wait (ms) before passing them on. */
  take(n: number): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= n;
    this.passedBytes += n;
    const wait = this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
    this.waitedMs += wait;
    return wait;
  }
}

let throttledStreams = 0;

/** How many throttled streams this process started (tests, diagnostics). */
export function throttledStreamCount(): number {
  return throttledStreams;
}

/**
 * A Transform passing its bytes on at `rate` bytes per second on average (a token bucket holding
 * a quarter second's worth, at least 64 KiB, so the stream does not stall on every chunk).
 * Backpressure does the rest: while it waits, it takes nothing from upstream.
 */
export function throttleStream(rate: number, clock: ThrottleClock = systemThrottleClock): Transform & { bucket: TokenBucket } {
  const bucket = new TokenBucket(rate, Math.max(64 * 1024, rate / 4), clock);
  throttledStreams++;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const wait = bucket.take(chunk.length);
      if (wait === 0) return done(null, chunk);
      clock.sleep(wait).then(() => done(null, chunk), done);
    },
  });
  return Object.assign(t, { bucket });
}
