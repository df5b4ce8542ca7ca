import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../engine/types.js';

/**
 * A backoff shared by every partition archiving to one sink: when the sink is unreachable or
 * throttling, one failure holds back all partitions on it (no thundering herd), while partitions
 * on other sinks go on. Doubles from `initialMs` to `maxMs` while failures continue; cleared by a
 * success.
 */
export class SinkBackoff {
  constructor(
    private readonly redis: () => Redis,
    private readonly prefix: string,
    private readonly clock: Clock,
    private readonly initialMs = 5_000,
    private readonly maxMs = 300_000,
  ) {}

  private key(sinkUrl: string): string {
    return `${this.prefix}:sink-backoff:${createHash('sha1').update(sinkUrl).digest('hex')}`;
  }

  /** ms since epoch until which the sink is left alone, or 0 */
  async until(sinkUrl: string): Promise<number> {
    return Number((await this.redis().hget(this.key(sinkUrl), 'until')) ?? 0);
  }

  /** whether the sink is to be left alone now */
  async active(sinkUrl: string): Promise<number | null> {
    return (await this.check(sinkUrl)).activeUntil;
  }

  /**
   * One read: `activeUntil` is set while the sink is to be left alone; `recorded` tells whether a
   * backoff (a lapsed one too) is stored at all, i.e. whether a success has something to clear.
   */
  async check(sinkUrl: string): Promise<{ activeUntil: number | null; recorded: boolean }> {
    const raw = await this.redis().hget(this.key(sinkUrl), 'until');
    const until = Number(raw ?? 0);
    return { activeUntil: until > this.clock.now() ? until : null, recorded: raw !== null };
  }

  async failed(sinkUrl: string): Promise<number> {
    const key = this.key(sinkUrl);
    const prev = Number((await this.redis().hget(key, 'delayMs')) ?? 0);
    const delayMs = prev ? Math.min(prev * 2, this.maxMs) : this.initialMs;
    const until = this.clock.now() + delayMs;
    await this.redis().hset(key, { until: String(until), delayMs: String(delayMs) });
    await this.redis().pexpire(key, this.maxMs * 2);
    return until;
  }

  async succeeded(sinkUrl: string): Promise<void> {
    await this.redis().del(this.key(sinkUrl));
  }
}
