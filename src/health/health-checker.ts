import type { Logger } from 'pino';
import { systemClock, type Clock } from '../engine/types.js';
import { isoTime } from '../util/time.js';
import type { TargetHealth } from './target-health.js';

export interface HealthCheckerOptions {
  health: TargetHealth;
  /** how often each healthy target is checked, in milliseconds. @defaultValue 10000 */
  intervalMs?: number;
  /** targets to check besides those work has used (recorded by TargetHealth.admit) */
  targets?: () => string[];
  log?: Logger;
  clock?: Clock;
}

export interface HealthChecker {
  /** one round now: checks every target that is due (tests, and the loop itself) */
  checkDue(): Promise<void>;
  /** stops the loop; resolves once a round in progress has ended */
  stop(): Promise<void>;
}

/**
 * The orchestrator's health checker (`ferry serve`): checks every known target with
 * grpc.health.v1.Health/Check, healthy ones every `intervalMs`, unhealthy ones when their backoff
 * says (claimed in Redis, so one process checks at a time), and records the results, so work for
 * a target that went down waits before it is even tried and resumes soon after the target is back.
 * Targets no work has needed for `forgetAfterMs` are forgotten. Workers check a due target
 * themselves too (TargetHealth.admit), so nothing depends on this loop running.
 */
export function startHealthChecker(o: HealthCheckerOptions): HealthChecker {
  const health = o.health;
  const clock = o.clock ?? systemClock;
  const intervalMs = Math.max(10, o.intervalMs ?? 10_000);
  /** when this process last checked each healthy target */
  const checkedAt = new Map<string, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  let wakeAt = 0;

  const check = async (target: string): Promise<void> => {
    checkedAt.set(target, clock.now());
    const rec = await health.probe(target);
    o.log?.debug({ target, state: rec.state, failures: rec.failures }, 'target checked');
  };

  async function checkDue(): Promise<void> {
    const now = clock.now();
    const extra = new Set(o.targets?.() ?? []);
    const records = await health.list();
    const known = new Set(records.map((r) => r.target));
    let next = now + intervalMs;
    const due: Array<Promise<void>> = [];
    for (const r of records) {
      if (!extra.has(r.target) && r.lastUsedAt !== null && now - r.lastUsedAt > health.forgetAfterMs) {
        o.log?.info({ target: r.target, lastUsedAt: isoTime(r.lastUsedAt) }, 'target not used for long: forgotten');
        checkedAt.delete(r.target);
        due.push(health.forget(r.target));
        continue;
      }
      if (r.state === 'unhealthy') {
        const at = r.nextCheckAt ?? now;
        if (at > now) {
          next = Math.min(next, at);
          continue;
        }
        const claim = await health.claimCheck(r.target);
        if (claim.kind === 'claimed') due.push(check(r.target));
        else if (claim.kind === 'wait') next = Math.min(next, claim.at);
        continue;
      }
      const at = (checkedAt.get(r.target) ?? 0) + intervalMs;
      if (at <= now) due.push(check(r.target));
      else next = Math.min(next, at);
    }
    for (const t of extra) if (!known.has(t)) due.push(check(t));
    const results = await Promise.allSettled(due);
    for (const res of results) if (res.status === 'rejected') o.log?.warn({ err: (res.reason as Error).message }, 'health check not recorded');
    for (const t of checkedAt.keys()) if (!known.has(t) && !extra.has(t)) checkedAt.delete(t);
    wakeAt = next;
  }

  const loop = () => {
    if (stopped) return;
    round = checkDue()
      .catch((err) => {
        o.log?.warn({ err: (err as Error).message }, 'health check round failed; trying again');
        wakeAt = clock.now() + Math.min(intervalMs, 1_000);
      })
      .finally(() => {
        if (stopped) return;
        // at least every second: targets go down (reported by workers) and come into use at any time
        const delay = Math.max(10, Math.min(wakeAt - clock.now(), intervalMs, 1_000));
        timer = setTimeout(loop, delay);
      });
  };
  loop();

  return {
    checkDue,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
