import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { TransitionEvent } from '../engine/types.js';

/**
 * Follows the transition log from now on until stopped, resuming after the last event handled when
 * a Redis read fails: what `ferry serve` builds its cluster-wide views (metrics, inspector) from.
 */
export function followLogFromNow(engine: Engine, onEvent: (e: TransitionEvent) => Promise<void> | void, what: string, log?: Logger): { stop(): Promise<void> } {
  const stop = new AbortController();
  const running = (async () => {
    let from = await engine.transitions.lastId();
    while (!stop.signal.aborted) {
      try {
        await engine.transitions.follow(from, async (e) => {
          await onEvent(e);
          from = e.id ?? from;
        }, stop.signal);
      } catch (err) {
        log?.warn({ err: (err as Error).message }, `${what}: transition log read failed; retrying`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return {
    async stop() {
      stop.abort();
      await running;
    },
  };
}
