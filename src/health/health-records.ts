import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../engine/types.js';
import { SharedBackoff, type BackoffRecord } from '../util/shared-backoff.js';

export type TargetState = 'healthy' | 'unhealthy';

/** What is known of one target (an agent) across every ferry process of the installation. */
export interface TargetHealthRecord {
  /** the agent's address, host:port */
  target: string;
  state: TargetState;
  /** ms since epoch of the last change of state (for a target never down: when it was first used) */
  since: number;
  /** failed checks and calls in a row; 0 while healthy */
  failures: number;
  /** while unhealthy: ms since epoch of the next check (no work is sent to it before) */
  nextCheckAt: number | null;
  /** while unhealthy: why the last check or call failed */
  lastError: string | null;
  /** ms since epoch a step or a plan last needed it, or null (a target only given to the checker) */
  lastUsedAt: number | null;
}

/** The backoff of an unhealthy target: the first wait and the longest, in milliseconds. */
export interface HealthBackoff {
  clock: Clock;
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_HEALTH_BACKOFF: HealthBackoff = { clock: systemClock, initialMs: 1_000, maxMs: 30_000 };

/**
 * The agents' health records in Redis, read with plain commands: what `ferry status` shows without
 * loading gRPC (no probe, no checks). TargetHealth (target-health.ts) extends it with the writes.
 *
 * Keys (prefix `p`): `p:health:used` (hash target -> ms it was last needed), `p:health:up` (hash
 * target -> ms it is healthy since), `p:health:down:<target>` (the backoff record while unhealthy).
 */
export class TargetHealthRecords {
  protected readonly usedKey: string;
  protected readonly upKey: string;
  /** the backoff record of a target while it is unhealthy */
  protected readonly downKey: (target: string) => string;
  protected readonly backoff: SharedBackoff;

  constructor(protected readonly redis: Redis, prefix: string, backoff: HealthBackoff = DEFAULT_HEALTH_BACKOFF) {
    this.usedKey = `${prefix}:health:used`;
    this.upKey = `${prefix}:health:up`;
    this.downKey = (target) => `${prefix}:health:down:${target}`;
    this.backoff = new SharedBackoff({ redis, ...backoff, key: this.downKey });
  }

  async get(target: string): Promise<TargetHealthRecord | null> {
    const [res, down] = await Promise.all([
      this.redis.multi().hget(this.usedKey, target).hget(this.upKey, target).exec(),
      this.backoff.get(target),
    ]);
    const used = res?.[0]?.[1] as string | null;
    const up = res?.[1]?.[1] as string | null;
    if (!down && used === null && up === null) return null;
    return this.record(target, used, up, down);
  }

  /** Every known target (used by work, or checked), unhealthy ones first, then by name. */
  async list(): Promise<TargetHealthRecord[]> {
    const [used, up] = await Promise.all([this.redis.hgetall(this.usedKey), this.redis.hgetall(this.upKey)]);
    const targets = [...new Set([...Object.keys(used), ...Object.keys(up)])].sort();
    const downs = await Promise.all(targets.map((t) => this.backoff.get(t)));
    const records = targets.map((t, i) => this.record(t, used[t] ?? null, up[t] ?? null, downs[i]));
    return [...records.filter((r) => r.state === 'unhealthy'), ...records.filter((r) => r.state === 'healthy')];
  }

  private record(target: string, used: string | null, up: string | null, down: BackoffRecord | null): TargetHealthRecord {
    const lastUsedAt = used === null ? null : Number(used);
    if (down) {
      return {
        target, state: 'unhealthy', since: down.since, failures: down.failures,
        nextCheckAt: Math.max(down.until, down.claimedUntil ?? 0), lastError: down.lastError, lastUsedAt,
      };
    }
    return { target, state: 'healthy', since: Number(up ?? used ?? 0), failures: 0, nextCheckAt: null, lastError: null, lastUsedAt };
  }
}
