import { createActor, initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import type {
  Clock, InboxEnvelope, MachineDefinition, MachineRecord, OutboxEntry, Registry, StatChange, TimerEntry, TransitionEvent,
} from './types.js';
import { stateName } from '../util/state-name.js';

/**
 * The engine's pure core: applies inbox events to a machine record with xstate's pure
 * `transition`, and turns the resulting action objects into registry changes and outbox
 * entries. Nothing here does I/O; the caller commits the result atomically.
 */

export interface StepResult {
  record: MachineRecord;
  /** the restored snapshot object after the last event (cached by the drain) */
  snapshot: AnyMachineSnapshot;
  outbox: OutboxEntry[];
  log: TransitionEvent[];
  /** envelopes actually applied (stale ones are consumed but not applied) */
  applied: InboxEnvelope[];
  stale: InboxEnvelope[];
  /** states left, with the time spent in each, for the seconds-per-state metric */
  stateDurations: Array<{ state: string; seconds: number }>;
  unknownActions: string[];
  /** events the machine emitted (`emit` action): facts for logs and metrics, e.g. an archive gap */
  emitted: EventObject[];
  /** each applied event with the snapshot it produced (for inspection) */
  steps: Array<{ event: EventObject; snapshot: AnyMachineSnapshot }>;
  /** the durable numbers these events changed (the definition's `stats`), committed with the record */
  stats: StatChange[];
}

export function restoreSnapshot(machine: AnyStateMachine, persisted: unknown): AnyMachineSnapshot {
  return createActor(machine, { snapshot: persisted as any }).getSnapshot() as AnyMachineSnapshot;
}

function statusOf(s: AnyMachineSnapshot): MachineRecord['status'] {
  return s.status === 'done' ? 'done' : s.status === 'error' ? 'error' : s.status === 'stopped' ? 'stopped' : 'active';
}

/** Decides whether an inbox entry still belongs to the machine's current registry. */
function isCurrent(rec: MachineRecord, env: InboxEnvelope): boolean {
  switch (env.from) {
    case 'ext':
      return true;
    case 'timer':
      return !!env.ref && rec.timers[env.ref]?.key === env.key;
    case 'effect':
    case 'child':
    case 'child-state':
      return !!env.ref && rec.children[env.ref]?.key === env.key;
  }
}

interface StepContext {
  registry: Registry;
  clock: Clock;
  def: MachineDefinition;
}

/**
 * Interprets one transition's action objects. Keys are `<machine>.v<version>.<index>`:
 * unique per action, stable across re-runs of the same commit (idempotent job ids).
 */
function interpretActions(
  ctx: StepContext, rec: MachineRecord, actions: Array<{ type: string; params?: any }>, version: number, out: OutboxEntry[], unknown: string[], emitted: EventObject[],
): void {
  let n = 0;
  for (const action of actions) {
    const key = `${rec.id}.v${version}.${n++}`;
    const p = action.params ?? {};
    switch (action.type) {
      case 'xstate.spawnChild': {
        const childId = String(p.id);
        const src = String(p.src);
        if (ctx.registry.effects[src]) {
          rec.children[childId] = { key, src, type: 'effect' };
          out.push({ op: 'effect', jobId: key, machineId: rec.id, childId, key, src, input: p.input });
        } else if (ctx.registry.machines[src]) {
          const instanceId = rec.spawned.includes(childId) ? `${rec.id}.${childId}-${version}` : `${rec.id}.${childId}`;
          if (!rec.spawned.includes(childId)) rec.spawned.push(childId);
          rec.children[childId] = { key, src, type: 'machine', instanceId };
          out.push({ op: 'spawn', kind: src, instanceId, input: p.input, parent: rec.id, parentChildId: childId, parentKey: key });
        } else {
          throw new Error(`machine ${rec.kind} ${rec.id} invokes "${src}", which is neither a registered effect nor a registered machine`);
        }
        break;
      }
      case 'xstate.stopChild': {
        const childId = typeof p === 'string' ? p : String(p.id ?? '');
        delete rec.children[childId];
        delete rec.progress[childId];
        break;
      }
      case 'xstate.raise': {
        if (typeof p.delay !== 'number') break; // immediate raises were handled inside the macrostep
        const sendId = String(p.id ?? key);
        const entry: TimerEntry = { key, dueAt: ctx.clock.now() + p.delay, event: p.event };
        rec.timers[sendId] = entry;
        out.push({ op: 'timer', jobId: key, machineId: rec.id, sendId, key, event: p.event, delay: p.delay });
        break;
      }
      case 'xstate.cancel': {
        const sendId = String(p.sendId);
        const t = rec.timers[sendId];
        if (t) {
          delete rec.timers[sendId];
          out.push({ op: 'cancel-timer', jobId: t.key });
        }
        break;
      }
      case 'xstate.emit':
        emitted.push(p.event);
        break;
      default:
        unknown.push(action.type);
    }
  }
}

/** Events for the parent: a state change summary and, when this machine ends, its output. */
function notifyParent(ctx: StepContext, rec: MachineRecord, snap: AnyMachineSnapshot, stateChanged: boolean, at: number, out: OutboxEntry[]): void {
  if (!rec.parent || !rec.parentChildId || !rec.parentKey) return;
  const base = { key: rec.parentKey, ref: rec.parentChildId, at };
  if (rec.status === 'done') {
    out.push({ op: 'notify-parent', parent: rec.parent, envelope: { ...base, from: 'child', event: { type: `xstate.done.actor.${rec.parentChildId}`, output: snap.output } as EventObject } });
  } else if (rec.status === 'error') {
    const e = snap.error as { message?: string } | undefined;
    out.push({ op: 'notify-parent', parent: rec.parent, envelope: { ...base, from: 'child', event: { type: `xstate.error.actor.${rec.parentChildId}`, error: { name: 'MachineError', message: e?.message ?? String(snap.error), kind: 'permanent', code: 'MACHINE_ERROR' } } as EventObject } });
  } else if (stateChanged) {
    const dues = Object.values(rec.timers).map((t) => t.dueAt);
    out.push({
      op: 'notify-parent', parent: rec.parent,
      envelope: {
        ...base, from: 'child-state',
        event: {
          type: 'ferry.child.state', childId: rec.parentChildId, state: stateName(rec.value),
          summary: ctx.def.summarize?.(snap), sleepUntil: dues.length ? Math.min(...dues) : undefined,
        } as EventObject,
      },
    });
  }
}

function after(
  ctx: StepContext, rec: MachineRecord, prevValue: string | null, snap: AnyMachineSnapshot, eventType: string, version: number,
  result: Pick<StepResult, 'outbox' | 'log' | 'stateDurations'>,
): void {
  const now = ctx.clock.now();
  const prevStatus = rec.status;
  rec.value = snap.value;
  rec.status = statusOf(snap);
  rec.version = version;
  const to = stateName(snap.value);
  const changed = prevValue !== to || prevStatus !== rec.status;
  if (changed) {
    if (prevValue !== null) result.stateDurations.push({ state: prevValue, seconds: Math.max(0, now - rec.stateSince) / 1000 });
    rec.stateSince = now;
    result.log.push({ kind: rec.kind, machineId: rec.id, parent: rec.parent, from: prevValue, to, event: eventType, at: now, version, status: rec.status });
  }
  if (rec.status !== 'active') {
    // a finished machine keeps no timers or children: their late results are stale
    for (const t of Object.values(rec.timers)) result.outbox.push({ op: 'cancel-timer', jobId: t.key });
    rec.timers = {};
    rec.children = {};
  }
  // a parent that spawned the child knowing its first state need not hear of it (reportInitialState)
  notifyParent(ctx, rec, snap, changed && (prevValue !== null || ctx.def.reportInitialState !== false), now, result.outbox);
}

export interface CreateArgs {
  kind: string;
  id: string;
  input: unknown;
  parent?: { id: string; childId: string; key: string };
}

/** Builds the first record of a machine from its initial transition. */
export function createRecord(registry: Registry, clock: Clock, args: CreateArgs): StepResult {
  const def = registry.machines[args.kind];
  if (!def) throw new Error(`unknown machine kind "${args.kind}"; registered: ${Object.keys(registry.machines).join(', ')}`);
  const ctx: StepContext = { registry, clock, def };
  const [snap, actions] = initialTransition(def.machine, args.input as any);
  const rec: MachineRecord = {
    kind: args.kind, id: args.id, parent: args.parent?.id ?? null, parentChildId: args.parent?.childId ?? null,
    parentKey: args.parent?.key ?? null, version: 1, defVersion: def.version, status: 'active', value: null, snapshot: null,
    children: {}, timers: {}, spawned: [], stateSince: clock.now(), createdAt: clock.now(), progress: {},
  };
  const result: StepResult = { record: rec, snapshot: snap, outbox: [], log: [], applied: [], stale: [], stateDurations: [], unknownActions: [], steps: [], emitted: [], stats: [] };
  interpretActions(ctx, rec, actions as any, 1, result.outbox, result.unknownActions, result.emitted);
  after(ctx, rec, null, snap, 'xstate.init', 1, result);
  if (def.stats) result.stats.push(...def.stats(null, snap, clock.now()));
  result.steps.push({ event: { type: 'xstate.init' }, snapshot: snap });
  rec.snapshot = def.machine.getPersistedSnapshot(snap);
  return result;
}

/** Applies inbox envelopes in order, one transition each; returns the record after the last. */
export function applyEvents(
  registry: Registry, clock: Clock, record: MachineRecord, snapshot: AnyMachineSnapshot, envelopes: InboxEnvelope[],
): StepResult {
  const def = registry.machines[record.kind];
  if (!def) throw new Error(`unknown machine kind "${record.kind}"`);
  const ctx: StepContext = { registry, clock, def };
  const rec: MachineRecord = structuredClone({ ...record, snapshot: null });
  const result: StepResult = { record: rec, snapshot, outbox: [], log: [], applied: [], stale: [], stateDurations: [], unknownActions: [], steps: [], emitted: [], stats: [] };
  let snap = snapshot;
  let version = rec.version;
  for (const env of envelopes) {
    if (rec.status !== 'active' || !isCurrent(rec, env)) {
      result.stale.push(env);
      continue;
    }
    // the event ends the child or timer it came from
    if (env.from === 'timer') delete rec.timers[env.ref!];
    if (env.from === 'effect' || env.from === 'child') {
      delete rec.children[env.ref!];
      delete rec.progress[env.ref!];
    }
    const prev = stateName(rec.value);
    const [next, actions] = transition(def.machine, snap, env.event);
    version += 1;
    interpretActions(ctx, rec, actions as any, version, result.outbox, result.unknownActions, result.emitted);
    after(ctx, rec, prev, next, env.event.type, version, result);
    if (def.stats) result.stats.push(...def.stats(snap, next, clock.now()));
    snap = next;
    result.applied.push(env);
    result.steps.push({ event: env.event, snapshot: next });
  }
  // a batch of only stale events still bumps the version, so the compare-and-set stays exclusive
  if (version === record.version) version += 1;
  rec.version = version;
  result.snapshot = snap;
  rec.snapshot = result.applied.length ? def.machine.getPersistedSnapshot(snap) : record.snapshot;
  return result;
}
