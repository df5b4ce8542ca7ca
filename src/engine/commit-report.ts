import type { EventObject } from 'xstate';
import type { Logger } from 'pino';
import { machineLogger } from '../util/logger.js';
import { actorEvent, transitionEvents, type InspectFn } from './inspection.js';
import type { EngineMetrics } from './metrics.js';
import type { StepResult } from './step.js';
import type { EngineTrace, MachineRecord, Registry } from './types.js';

/** Who hears of a commit once it is durable. */
export interface CommitListeners {
  /** the machines' definitions: which states and emitted events are logged at warn */
  registry?: Registry;
  log: Logger;
  metrics: EngineMetrics;
  inspect?: InspectFn;
  onEmit?: (record: MachineRecord, event: EventObject) => void;
  trace?: EngineTrace;
}

/** Tells metrics, logs, the `onEmit` hook, the inspector and the trace what a commit did. */
export function reportCommit(l: CommitListeners, result: StepResult, commit: { expectedVersion: number; consumed: number }): void {
  const rec = result.record;
  const def = l.registry?.machines[rec.kind];
  l.trace?.committed?.({ machineId: rec.id, ...commit });
  if (commit.expectedVersion === 0 && l.inspect) l.inspect(actorEvent(rec));
  for (const d of result.stateDurations) l.metrics.stateSeconds.observe({ machine: rec.kind, state: d.state }, d.seconds);
  for (const t of result.log) l.metrics.transitions.inc({ machine: rec.kind, from: t.from ?? '', to: t.to });
  for (const s of result.stale) l.metrics.staleEvents.inc({ machine: rec.kind, from: s.from });
  const warnStates = def?.warn?.states ?? [];
  for (const t of result.log) {
    // a state a person must act on (a permanent error, a failed partition) is a warning, with the machine's summary
    if (warnStates.includes(t.to)) {
      const summary = def?.summarize?.(result.snapshot) ?? {};
      machineLogger(l.log, rec.kind, rec.id).warn({ from: t.from, to: t.to, event: t.event, version: t.version, ...(summary as object) }, `${rec.kind} ${rec.id} entered ${t.to}`);
    } else if (l.log.isLevelEnabled('debug')) {
      machineLogger(l.log, rec.kind, rec.id).debug({ from: t.from, to: t.to, event: t.event, version: t.version }, 'transition');
    }
  }
  if (result.unknownActions.length) {
    machineLogger(l.log, rec.kind, rec.id).warn({ actions: [...new Set(result.unknownActions)] }, 'actions the engine does not run were ignored');
  }
  for (const e of result.emitted) {
    const level = def?.warn?.emitted?.includes(e.type) ? 'warn' : 'info';
    machineLogger(l.log, rec.kind, rec.id)[level]({ emitted: e }, e.type);
    l.onEmit?.(rec, e);
  }
  if (l.inspect) for (const s of result.steps) for (const e of transitionEvents(rec, s.event, s.snapshot)) l.inspect(e);
}
