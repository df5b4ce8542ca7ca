import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import { rootOf, type InspectFn } from '../engine/inspection.js';

/**
 * Feeds the inspector from the transition log rather than from this process's own commits, so
 * `ferry serve --inspect` shows every machine whichever worker process moves it. Each log entry
 * becomes the `@xstate.event` that caused it and the machine's `@xstate.snapshot` as committed
 * (read back from Redis: when several transitions come close together, each shows the latest).
 */
export function feedInspectorFromLog(engine: Engine, inspect: InspectFn, log?: Logger): { stop(): Promise<void> } {
  const stop = new AbortController();
  const running = (async () => {
    let from = await engine.transitions.lastId();
    while (!stop.signal.aborted) {
      try {
        await engine.transitions.follow(from, async (e) => {
          from = e.id ?? from;
          const rec = await engine.get(e.machineId);
          const snap = rec?.snapshot as { value?: unknown; context?: unknown } | undefined;
          const rootId = rootOf(e.machineId);
          const event = { type: e.event };
          inspect({ type: '@xstate.event', rootId, sessionId: e.machineId, event });
          inspect({ type: '@xstate.snapshot', rootId, sessionId: e.machineId, event, snapshot: { value: snap?.value ?? e.to, context: snap?.context, status: e.status } });
        }, stop.signal);
      } catch (err) {
        log?.warn({ err: (err as Error).message }, 'inspector feed: transition log read failed; retrying');
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
