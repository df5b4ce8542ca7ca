import { fromPromise } from 'xstate';

/**
 * The JSON shape of a failed effect as the engine delivers it in `xstate.error.actor.<id>`.
 * `kind` tells the machine whether a retry can help.
 */
export interface EffectError {
  name: string;
  message: string;
  kind: 'temporary' | 'permanent';
  code: string;
  /**
   * for a temporary error whose cause knows when a retry can help (a target that is down until its
   * next health check): milliseconds to wait before trying again, in place of the machine's own backoff
   */
  retryAfterMs?: number;
}

/**
 * Pure: reads the `error` of an `xstate.error.actor.*` event. The engine always delivers an
 * EffectError; anything else (a thrown value from a misbehaving effect) counts as temporary, so a
 * bug shows up as retries carrying its message instead of a silent stop.
 */
export function readEffectError(error: unknown): EffectError {
  if (error !== null && typeof error === 'object') {
    const e = error as Partial<EffectError>;
    const message = typeof e.message === 'string' ? e.message : String(error);
    return {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message,
      kind: e.kind === 'permanent' ? 'permanent' : 'temporary',
      code: typeof e.code === 'string' ? e.code : 'ERROR',
      ...(typeof e.retryAfterMs === 'number' ? { retryAfterMs: e.retryAfterMs } : {}),
    };
  }
  return { name: 'Error', message: String(error), kind: 'temporary', code: 'ERROR' };
}

/**
 * The code of a temporary error that says the work was not tried: a target it needs is down (its
 * health check fails). Machines wait `retryAfterMs` and try again without counting an attempt, so
 * an agent that is down for long delays the work instead of failing it.
 */
export const TARGET_UNHEALTHY = 'TARGET_UNHEALTHY';

/** Pure: whether an effect error is a refusal to start because a target is unhealthy. */
export function isTargetUnhealthy(error: EffectError): boolean {
  return error.kind === 'temporary' && error.code === TARGET_UNHEALTHY;
}

/**
 * Pure: the wait before the next try after a TARGET_UNHEALTHY refusal: the error's `retryAfterMs`,
 * else `fallbackMs` (an error from an older worker that did not say).
 */
export function targetWaitMs(error: EffectError, fallbackMs: number): number {
  const ms = error.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : fallbackMs;
}

/**
 * Declares a piece of work by its input and output types only. The engine attaches the
 * implementation to the `src` name and runs it as a durable BullMQ job; the machine never
 * runs it itself (machines are only ever stepped with pure `transition`).
 */
export function effect<TInput, TOutput>() {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error('ferry effects are run by the engine (src/engine), not by the machine itself');
  });
}

/**
 * The guards every machine uses on an effect's `xstate.error.actor.*` (params: the event's error),
 * spread into each machine's `setup({ guards })`; the transitions naming them stay in each machine,
 * written out, so the Stately editor draws them from the source.
 */
export const effectErrorGuards = {
  isPermanentFailure: (_: unknown, params: { error: unknown }) => readEffectError(params.error).kind === 'permanent',
  isTargetUnhealthy: (_: unknown, params: { error: unknown }) => isTargetUnhealthy(readEffectError(params.error)),
};
