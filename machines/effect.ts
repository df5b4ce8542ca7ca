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
