import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';
import { defineScripts } from './redis-scripts.js';

/** One key's backoff as stored: present from the first failure until a success clears it. */
export interface BackoffRecord {
  /** ms since epoch before which the key is left alone */
  until: number;
  /** the current wait, in milliseconds */
  delayMs: number;
  /** failures in a row */
  failures: number;
  /** ms since epoch of the first failure of this streak */
  since: number;
  lastError: string | null;
  /** ms since epoch until which one caller holds the next try (see claim), or null */
  claimedUntil: number | null;
}

export interface SharedBackoffOptions {
  /** the process's shared connection (see openRedis in ./redis.ts) */
  redis: Redis;
  /** the Redis key of one name's record */
  key: (name: string) => string;
  clock: Clock;
  /** first wait, in milliseconds */
  initialMs: number;
  /** the wait doubles up to this, in milliseconds */
  maxMs: number;
  /** records expire this long after their last failure, in milliseconds. @defaultValue 0 (kept until a success) */
  ttlMs?: number;
}

/** Outcome of `claim`: the caller may try now, or should look again at `at`. */
export type ClaimResult = { kind: 'claimed' } | { kind: 'none' } | { kind: 'wait'; at: number };

const MAX_ERROR_TEXT = 1000;

interface BackoffCommands {
  ferryBackoffFailed(key: string, ...args: (string | number)[]): Promise<[number, number, number, number]>;
  ferryBackoffClaim(key: string, ...args: (string | number)[]): Promise<number>;
}

/** The scripts live beside this file as `commands/<name>-<numKeys>.lua`. */
const SCRIPTS_FOLDER = new URL('./commands/', import.meta.url);
const SCRIPTS: Record<keyof BackoffCommands, string> = { ferryBackoffFailed: 'backoff-failed-1', ferryBackoffClaim: 'backoff-claim-1' };

function decode(h: Record<string, string>): BackoffRecord | null {
  if (h.until === undefined) return null;
  const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
  return {
    until: Number(h.until),
    delayMs: Number(h.delayMs ?? 0),
    failures: Number(h.failures ?? 1),
    since: num(h.since) ?? Number(h.until),
    lastError: h.lastError || null,
    claimedUntil: num(h.claimedUntil),
  };
}

/**
 * An exponential backoff per name (a sink, an agent), shared by every process through Redis, so
 * that one failure holds back all work on that name at once while work elsewhere goes on. The wait
 * starts at `initialMs` and doubles up to `maxMs` for each failure of a try made after the wait
 * (failures of tries started before it only count); a success clears it. Failures are recorded
 * atomically (a Lua script), so many workers failing together double the wait once, not each.
 */
export class SharedBackoff {
  private readonly redis: Redis & BackoffCommands;

  constructor(private readonly o: SharedBackoffOptions) {
    this.redis = defineScripts<BackoffCommands>(o.redis, SCRIPTS_FOLDER, SCRIPTS);
  }

  async get(name: string): Promise<BackoffRecord | null> {
    return decode(await this.redis.hgetall(this.o.key(name)));
  }

  /** Records a failure; returns the backoff in effect after it. */
  async failed(name: string, error?: unknown): Promise<BackoffRecord> {
    const text = error === undefined ? '' : (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_TEXT);
    const [until, delayMs, failures, since] = await this.redis.ferryBackoffFailed(
      this.o.key(name), this.o.clock.now(), this.o.initialMs, this.o.maxMs, text, this.o.ttlMs ?? 0,
    );
    return { until: Number(until), delayMs: Number(delayMs), failures: Number(failures), since: Number(since), lastError: text || null, claimedUntil: null };
  }

  /**
   * Claims the next try once the wait is over, for `leaseMs` at most: one caller checks, the others
   * are told when to look again. `none` when no backoff is recorded (a success cleared it).
   */
  async claim(name: string, leaseMs: number): Promise<ClaimResult> {
    const r = Number(await this.redis.ferryBackoffClaim(this.o.key(name), this.o.clock.now(), Math.max(1, Math.round(leaseMs))));
    return r === 0 ? { kind: 'claimed' } : r < 0 ? { kind: 'none' } : { kind: 'wait', at: r };
  }

  /** Clears the backoff; returns the record it cleared, or null when there was none. */
  async succeeded(name: string): Promise<BackoffRecord | null> {
    const key = this.o.key(name);
    const res = await this.redis.multi().hgetall(key).del(key).exec();
    const h = (res?.[0]?.[1] ?? {}) as Record<string, string>;
    return decode(h);
  }
}
