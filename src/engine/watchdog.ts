import type { Clock } from './types.js';

interface Watched {
  lastProgress: number;
  timeoutMs: number;
  controller: AbortController;
  onTimeout: () => void;
}

/**
 * Aborts running effects of this process that reported no progress for longer than their
 * timeout. Each worker process watches its own effects: the abort must reach the
 * processor's AbortSignal, which only exists where the job runs.
 */
export class Watchdog {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | null = null;

  /** `paused`: true while Redis is unreachable: an effect waiting on Redis then is not stuck, and is not aborted */
  constructor(private readonly clock: Clock, private readonly paused: () => boolean = () => false) {}

  /** Counts every watched effect's silence from now (Redis is back: the outage was not theirs). */
  restartClocks(): void {
    const now = this.clock.now();
    for (const w of this.watched.values()) w.lastProgress = now;
  }

  /** Checks every `checkEveryMs` milliseconds until stopped; a second start changes nothing. */
  start(checkEveryMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  watch(jobId: string, timeoutMs: number, controller: AbortController, onTimeout: () => void): void {
    this.watched.set(jobId, { lastProgress: this.clock.now(), timeoutMs, controller, onTimeout });
  }

  progress(jobId: string): void {
    const w = this.watched.get(jobId);
    if (w) w.lastProgress = this.clock.now();
  }

  unwatch(jobId: string): void {
    this.watched.delete(jobId);
  }

  /** one pass; public so tests and shutdown can run it directly */
  check(): string[] {
    const now = this.clock.now();
    const expired: string[] = [];
    if (this.paused()) return expired;
    for (const [jobId, w] of this.watched) {
      if (now - w.lastProgress > w.timeoutMs) {
        expired.push(jobId);
        this.watched.delete(jobId);
        w.onTimeout();
        w.controller.abort(new WatchdogTimeout(jobId, w.timeoutMs));
      }
    }
    return expired;
  }
}

export class WatchdogTimeout extends Error {
  readonly code = 'WATCHDOG_TIMEOUT';
  constructor(jobId: string, timeoutMs: number) {
    super(`no progress for ${Math.round(timeoutMs / 1000)} s: aborted by the watchdog (effect ${jobId})`);
    this.name = 'WatchdogTimeout';
  }
}
