import type { Logger } from 'pino';
import { isUnreachable } from '../grpc/unreachable.js';
import type { TargetHealth } from './target-health.js';
import { agentTarget } from '../grpc/agent-target.js';
import { parseEndpoint } from '../storage/endpoint.js';

/** The health target of an endpoint: the agent's host:port for grpc://, null for a local endpoint. */
export function targetOf(endpoint: string): string | null {
  const r = parseEndpoint(endpoint).remote;
  return r ? agentTarget(r.address, r.tls) : null;
}

/** The distinct agents (health targets) behind some endpoints; local endpoints have none. */
export function targetsOf(endpoints: string[]): string[] {
  return [...new Set(endpoints.map(targetOf).filter((t): t is string => t !== null))];
}

/**
 * Before a step or a plan touches its endpoints: every agent behind them must be healthy, else
 * the TARGET_UNHEALTHY refusal of TargetHealth.admit is thrown (nothing was tried). Without a
 * TargetHealth (tests of other concerns) nothing is checked.
 */
async function admitEndpoints(health: TargetHealth | undefined, endpoints: string[]): Promise<void> {
  if (!health) return;
  for (const target of targetsOf(endpoints)) await health.admit(target);
}

/**
 * After a step or a plan failed: when the failure is an agent that could not be reached, that
 * target becomes (stays) unhealthy, so further work for it waits for its checks instead of
 * calling it. Never throws: the work's own error is what matters to the caller.
 */
async function reportUnreachable(health: TargetHealth | undefined, err: unknown, log?: Logger): Promise<void> {
  if (!health || !isUnreachable(err)) return;
  const target = err.details.target;
  if (typeof target !== 'string') return;
  try {
    await health.reportFailure(target, err);
  } catch (e) {
    log?.warn({ target, err: (e as Error).message }, 'could not record the target as unhealthy');
  }
}

/**
 * The gate around work on some endpoints (a plan, a step): their agents must be healthy before
 * `work` runs (else TARGET_UNHEALTHY: the machine waits for their next check without counting an
 * attempt), and one that `work` could not reach becomes unhealthy.
 */
export async function onHealthyEndpoints<T>(health: TargetHealth | undefined, endpoints: string[], log: Logger | undefined, work: () => Promise<T>): Promise<T> {
  await admitEndpoints(health, endpoints);
  try {
    return await work();
  } catch (err) {
    await reportUnreachable(health, err, log);
    throw err;
  }
}
