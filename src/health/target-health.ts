import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { TARGET_UNHEALTHY } from '../../machines/effect.js';
import type { Clock } from '../engine/types.js';
import { TemporaryError } from '../errors/index.js';
import type { BackoffRecord, ClaimResult } from '../util/shared-backoff.js';
import { DEFAULT_HEALTH_BACKOFF, TargetHealthRecords, type TargetHealthRecord } from './health-records.js';
import { isoTime } from '../util/time.js';

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

/**
 * Per-target (agent) health shared by every ferry process through Redis. A target becomes
 * unhealthy when a call to it cannot reach it or a health check fails; it is then checked again
 * after a wait that starts at `initialMs` and doubles up to `maxMs` per failed check, and becomes
 * healthy again when a check succeeds. Work that needs an unhealthy target is not sent to it:
 * `admit` refuses with a TemporaryError of code TARGET_UNHEALTHY that carries the wait until the
 * next check, which the machines wait without counting an attempt.
 * The records and their keys: health-records.ts.
 */
export class TargetHealth extends TargetHealthRecords {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly probeTimeoutMs: number;
  readonly forgetAfterMs: number;
  private readonly clock: Clock;

  constructor(private readonly o: TargetHealthOptions) {
    const clock = o.clock ?? DEFAULT_HEALTH_BACKOFF.clock;
    const initialMs = o.initialMs ?? DEFAULT_HEALTH_BACKOFF.initialMs;
    const maxMs = Math.max(initialMs, o.maxMs ?? DEFAULT_HEALTH_BACKOFF.maxMs);
    super(o.redis, o.prefix, { clock, initialMs, maxMs });
    this.clock = clock;
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.probeTimeoutMs = o.probeTimeoutMs ?? 2_000;
    this.forgetAfterMs = o.forgetAfterMs ?? 86_400_000;
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
    try {
      // gRPC loads with the first check: a process that never checks an agent needs none
      const { probeTarget } = await import('./probe.js');
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

  /** Forgets a target (the checker does this for targets unused for `forgetAfterMs`). */
  async forget(target: string): Promise<void> {
    await this.redis.multi().hdel(this.usedKey, target).hdel(this.upKey, target).del(this.downKey(target)).exec();
  }
}
