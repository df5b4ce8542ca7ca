import type { Logger } from 'pino';
import { isUnreachable } from '../api/status.js';
import { targetOf, type TargetHealth } from './target-health.js';

/** The distinct agents (health targets) behind some endpoints; local endpoints have none. */
export function targetsOf(endpoints: string[]): string[] {
  return [...new Set(endpoints.map(targetOf).filter((t): t is string => t !== null))];
}

/**
 * Before a step or a plan touches its endpoints: every agent behind them must be healthy, else
 * the TARGET_UNHEALTHY refusal of TargetHealth.admit is thrown (nothing was tried). Without a
 * TargetHealth (tests of other concerns) nothing is checked.
 */
export async function admitEndpoints(health: TargetHealth | undefined, endpoints: string[]): Promise<void> {
  if (!health) return;
  for (const target of targetsOf(endpoints)) await health.admit(target);
}

/**
 * After a step or a plan failed: when the failure is an agent that could not be reached, that
 * target becomes (stays) unhealthy, so further work for it waits for its checks instead of
 * calling it. Never throws: the work's own error is what matters to the caller.
 */
export async function reportUnreachable(health: TargetHealth | undefined, err: unknown, log?: Logger): Promise<void> {
  if (!health || !isUnreachable(err)) return;
  const target = err.details.target;
  if (typeof target !== 'string') return;
  try {
    await health.reportFailure(target, err);
  } catch (e) {
    log?.warn({ target, err: (e as Error).message }, 'could not record the target as unhealthy');
  }
}
