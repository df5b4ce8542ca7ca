import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../engine/types.js';
import { SharedBackoff } from '../util/shared-backoff.js';

/**
 * A backoff shared by every partition archiving to one sink: when the sink is unreachable or
 * throttling, one failure holds back all partitions on it (no thundering herd), while partitions
 * on other sinks go on. Doubles from `initialMs` to `maxMs` while failures continue; cleared by a
 * success. A record left behind expires after twice the longest wait.
 */
export class SinkBackoff {
  private readonly backoff: SharedBackoff;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly clock: Clock,
    initialMs = 5_000,
    maxMs = 300_000,
  ) {
    this.backoff = new SharedBackoff({
      redis, clock, initialMs, maxMs, ttlMs: maxMs * 2,
      key: (sinkUrl) => `${prefix}:sink-backoff:${createHash('sha1').update(sinkUrl).digest('hex')}`,
    });
  }

  /**
   * One read: `activeUntil` is set while the sink is to be left alone; `recorded` tells whether a
   * backoff (a lapsed one too) is stored at all, i.e. whether a success has something to clear.
   */
  async check(sinkUrl: string): Promise<{ activeUntil: number | null; recorded: boolean }> {
    const rec = await this.backoff.get(sinkUrl);
    return { activeUntil: rec && rec.until > this.clock.now() ? rec.until : null, recorded: rec !== null };
  }

  async failed(sinkUrl: string, error?: unknown): Promise<number> {
    return (await this.backoff.failed(sinkUrl, error)).until;
  }

  async succeeded(sinkUrl: string): Promise<void> {
    await this.backoff.succeeded(sinkUrl);
  }
}
