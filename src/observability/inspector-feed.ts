import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import { rootOf, type InspectFn } from '../engine/inspection.js';
import { followLogFromNow } from './log-follower.js';

/**
 * Feeds the inspector from the transition log rather than from this process's own commits, so
 * `ferry serve --inspect` shows every machine whichever worker process moves it. Each log entry
 * becomes the `@xstate.event` that caused it and the machine's `@xstate.snapshot` as committed
 * (read back from Redis: when several transitions come close together, each shows the latest).
 */
export function feedInspectorFromLog(engine: Engine, inspect: InspectFn, log?: Logger): { stop(): Promise<void> } {
  return followLogFromNow(engine, async (e) => {
    const rec = await engine.get(e.machineId);
    const snap = rec?.snapshot as { value?: unknown; context?: unknown } | undefined;
    const rootId = rootOf(e.machineId);
    const event = { type: e.event };
    inspect({ type: '@xstate.event', rootId, sessionId: e.machineId, event });
    inspect({ type: '@xstate.snapshot', rootId, sessionId: e.machineId, event, snapshot: { value: snap?.value ?? e.to, context: snap?.context, status: e.status } });
  }, 'inspector feed', log);
}
