import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { TARGET_UNHEALTHY } from '../../machines/effect.js';
import { systemClock, type Clock } from '../engine/types.js';
import { TemporaryError } from '../errors/index.js';
import { parseEndpoint } from '../storage/endpoint.js';
import { SharedBackoff, type BackoffRecord, type ClaimResult } from '../util/shared-backoff.js';
import { isoTime } from '../util/time.js';
import { agentTarget } from '../grpc/agent-target.js';

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

export interface TargetHealthOptions {
  /** the process's shared connection (see openRedis in src/util/redis.ts) */
  redis: Redis;
  /** the installation's key prefix (`--key-prefix`) */
  prefix: string;
  clock?: Clock;
  log?: Logger;
  /** wait after a target is found down before it is checked again, in milliseconds. @defaultValue 1000 */
  initialMs?: number;
  /** the wait doubles after each failed check up to this, in milliseconds. @defaultValue 30000 */
  maxMs?: number;
  /** deadline of one health check, in milliseconds. @defaultValue 2000 */
  probeTimeoutMs?: number;
  /** the checker forgets a target no step or plan has needed for this long, in milliseconds. @defaultValue 86400000 (a day) */
  forgetAfterMs?: number;
}

/** The shortest wait a refusal asks for: a check that is due right now must not become a busy loop. */
const MIN_WAIT_MS = 100;

/** The health target of an endpoint: the agent's host:port for grpc://, null for a local endpoint. */
export function targetOf(endpoint: string): string | null {
  const r = parseEndpoint(endpoint).remote;
  return r ? agentTarget(r.address, r.tls) : null;
}

/**
 * Per-target (agent) health shared by every ferry process through Redis. A target becomes
 * unhealthy when a call to it cannot reach it or a health check fails; it is then checked again
 * after a wait that starts at `initialMs` and doubles up to `maxMs` per failed check, and becomes
 * healthy again when a check succeeds. Work that needs an unhealthy target is not sent to it:
 * `admit` refuses with a TemporaryError of code TARGET_UNHEALTHY that carries the wait until the
 * next check, which the machines wait without counting an attempt.
 *
 * Keys (prefix `p`): `p:health:used` (hash target -> ms it was last needed), `p:health:up` (hash
 * target -> ms it is healthy since), `p:health:down:<target>` (the backoff record while unhealthy).
 */
export class TargetHealth {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly probeTimeoutMs: number;
  readonly forgetAfterMs: number;
  private readonly clock: Clock;
  private readonly redis: Redis;
  private readonly backoff: SharedBackoff;
  private readonly usedKey: string;
  private readonly upKey: string;
  /** the backoff record of a target while it is unhealthy */
  private readonly downKey: (target: string) => string;

  constructor(private readonly o: TargetHealthOptions) {
    this.clock = o.clock ?? systemClock;
    this.redis = o.redis;
    this.initialMs = o.initialMs ?? 1_000;
    this.maxMs = Math.max(this.initialMs, o.maxMs ?? 30_000);
    this.probeTimeoutMs = o.probeTimeoutMs ?? 2_000;
    this.forgetAfterMs = o.forgetAfterMs ?? 86_400_000;
    this.usedKey = `${o.prefix}:health:used`;
    this.upKey = `${o.prefix}:health:up`;
    this.downKey = (target) => `${o.prefix}:health:down:${target}`;
    this.backoff = new SharedBackoff({
      redis: o.redis, clock: this.clock, initialMs: this.initialMs, maxMs: this.maxMs, key: this.downKey,
    });
  }

  /**
   * Before work touches `target`: resolves when it may (healthy, or unhealthy but a check made here
   * now, when one is due, finds it back); otherwise throws TemporaryError TARGET_UNHEALTHY with
   * `details.retryAfterMs`, the wait until its next check. Also records that the target is in use,
   * so the health checker of `ferry serve` watches it.
   */
  async admit(target: string): Promise<void> {
    const now = this.clock.now();
    const [, down] = await Promise.all([
      this.redis.multi().hset(this.usedKey, target, String(now)).hsetnx(this.upKey, target, String(now)).exec(),
      this.backoff.get(target),
    ]);
    if (!down) return;
    const claim = await this.claimCheck(target);
    if (claim.kind === 'none') return;
    if (claim.kind === 'wait') throw this.refusal(target, down, claim.at);
    // the check is due and this caller holds it: no need to wait for `ferry serve`'s checker
    const after = await this.probe(target);
    if (after.state === 'healthy') return;
    throw this.refusal(target, after, after.nextCheckAt ?? now);
  }

  /** TARGET_UNHEALTHY: nothing was tried; `retryAfterMs` is the wait until the target's next check. */
  private refusal(target: string, down: Pick<BackoffRecord, 'since' | 'failures' | 'lastError'>, at: number): TemporaryError {
    const now = this.clock.now();
    const retryAfterMs = Math.max(MIN_WAIT_MS, at - now);
    return new TemporaryError(
      `target ${target} is unhealthy since ${isoTime(down.since)} (${down.failures} failure${down.failures === 1 ? '' : 's'} in a row${down.lastError ? `, last: ${down.lastError}` : ''}): waiting for its next check at ${isoTime(now + retryAfterMs)}`,
      { code: TARGET_UNHEALTHY, details: { target, since: down.since, failures: down.failures, retryAfterMs } },
    );
  }

  /**
   * Claims the due check of an unhealthy target, so that one process checks it at a time (for the
   * probe's deadline at most); `wait` says when to look again, `none` that it is not unhealthy.
   */
  claimCheck(target: string): Promise<ClaimResult> {
    return this.backoff.claim(target, this.probeTimeoutMs + 1_000);
  }

  /** Checks the target now (grpc.health.v1.Health/Check) and records the result. */
  async probe(target: string): Promise<TargetHealthRecord> {
    // gRPC loads with the first probe: a process that never talks to an agent never loads it
    const { probeTarget } = await import('./probe.js');
    try {
      await probeTarget(target, this.probeTimeoutMs);
    } catch (err) {
      await this.reportFailure(target, err);
      return (await this.get(target))!;
    }
    await this.reportSuccess(target);
    return (await this.get(target))!;
  }

  /** A call or a check could not reach the target: it is (still) unhealthy. Returns its backoff. */
  async reportFailure(target: string, err: unknown): Promise<BackoffRecord> {
    const rec = await this.backoff.failed(target, err);
    await this.redis.hsetnx(this.upKey, target, String(rec.since));
    if (rec.failures === 1) {
      this.o.log?.warn({ target, err: rec.lastError, nextCheckAt: isoTime(rec.until) }, 'target unhealthy: work for it waits until a check finds it back');
    } else {
      this.o.log?.debug({ target, failures: rec.failures, err: rec.lastError, nextCheckAt: isoTime(rec.until) }, 'target still unhealthy');
    }
    return rec;
  }

  /** A check reached the target: it is healthy. Returns whether it was unhealthy until now. */
  async reportSuccess(target: string): Promise<boolean> {
    const cleared = await this.backoff.succeeded(target);
    const now = this.clock.now();
    if (!cleared) {
      await this.redis.hsetnx(this.upKey, target, String(now));
      return false;
    }
    await this.redis.hset(this.upKey, target, String(now));
    this.o.log?.info({ target, downSeconds: Math.round((now - cleared.since) / 1000), failures: cleared.failures }, 'target healthy again: its work resumes');
    return true;
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

  /** Forgets a target (the checker does this for targets unused for `forgetAfterMs`). */
  async forget(target: string): Promise<void> {
    await this.redis.multi().hdel(this.usedKey, target).hdel(this.upKey, target).del(this.downKey(target)).exec();
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
