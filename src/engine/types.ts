import type { AnyStateMachine, AnyMachineSnapshot, EventObject } from 'xstate';
import type { Logger } from 'pino';

/** Effects (steps, uploads) a worker runs at once unless told otherwise (WorkerOptions.effectConcurrency). */
export const DEFAULT_EFFECT_CONCURRENCY = 8;

export { systemClock, type Clock } from '../util/clock.js';

/** A running child as the engine tracks it: results carrying another key are stale and dropped. */
export interface ChildEntry {
  key: string;
  src: string;
  type: 'effect' | 'machine';
  /** durable instance id, for child machines */
  instanceId?: string;
}

/** A pending `after` timer; a fired timer whose entry is gone (or has another key) is ignored. */
export interface TimerEntry {
  key: string;
  dueAt: number;
  event: EventObject;
}

/** One machine instance as stored in Redis. */
export interface MachineRecord {
  kind: string;
  id: string;
  parent: string | null;
  /** the id the parent gave this child (the invoke/spawn id) */
  parentChildId: string | null;
  /** the key of this child in the parent's registry */
  parentKey: string | null;
  version: number;
  defVersion: string;
  status: 'active' | 'done' | 'error' | 'stopped';
  /** top-level state value */
  value: unknown;
  snapshot: unknown;
  children: Record<string, ChildEntry>;
  timers: Record<string, TimerEntry>;
  /** child ids spawned at least once, so a re-spawn gets a fresh instance id */
  spawned: string[];
  /** ms since epoch the current state was entered */
  stateSince: number;
  /** ms since epoch the machine was created (a child's too); 0 for records written before this field */
  createdAt: number;
  /** live progress of running effects, by child id */
  progress: Record<string, EffectProgress>;
}

export interface EffectProgress {
  bytes?: number;
  total?: number;
  entries?: number;
  /** ms since epoch of this report, and of the effect's start */
  at: number;
  startedAt?: number;
}

/** What is written to the outbox in a commit and dispatched after it. */
export type OutboxEntry =
  | { op: 'effect'; jobId: string; machineId: string; childId: string; key: string; src: string; input: unknown }
  | { op: 'timer'; jobId: string; machineId: string; sendId: string; key: string; event: EventObject; delay: number }
  | { op: 'cancel-timer'; jobId: string }
  | { op: 'spawn'; kind: string; instanceId: string; input: unknown; parent: string; parentChildId: string; parentKey: string }
  | { op: 'notify-parent'; parent: string; envelope: InboxEnvelope };

/** An event as it sits in an inbox: the event plus where it came from, for stale filtering. */
export interface InboxEnvelope {
  event: EventObject;
  /** ext: from outside; effect/child: a child's result; timer: a fired timer; child-state: a child's state change */
  from: 'ext' | 'effect' | 'child' | 'timer' | 'child-state';
  /** the registry key of the child or timer this event belongs to */
  key?: string;
  /** the child id (effects, children) or send id (timers) */
  ref?: string;
  /** ms since epoch the event was sent */
  at: number;
}

/** One entry of the transition log. */
export interface TransitionEvent {
  /** stream id, set when read */
  id?: string;
  kind: string;
  machineId: string;
  parent: string | null;
  from: string | null;
  to: string;
  event: string;
  at: number;
  version: number;
  status: MachineRecord['status'];
}

export interface EffectContext {
  machineId: string;
  childId: string;
  /** aborted when the watchdog finds no progress for longer than the effect's timeout, or on shutdown */
  signal: AbortSignal;
  /** report progress; resets the watchdog; shown in status */
  progress(p: { bytes?: number; total?: number; entries?: number }): void;
  log: Logger;
  attempt: number;
  /** ms since epoch the effect was scheduled (its job created), for queueing-delay metrics */
  scheduledAt?: number;
}

export interface EffectDefinition<TInput = any, TOutput = any> {
  run(input: TInput, ctx: EffectContext): Promise<TOutput>;
  /** BullMQ attempts for temporary failures before the error reaches the machine. @defaultValue 1 */
  attempts?: number;
  /** first retry delay in milliseconds (exponential). @defaultValue 1000 */
  backoffMs?: number;
  /** abort when no progress is reported for this long, in milliseconds. @defaultValue 60000 */
  timeoutMs?: number;
}

/**
 * A change to one durable number, written in the same atomic step as the commit that caused it, so
 * it is counted exactly once and survives every process (read back with `Engine.stats()`).
 */
export interface StatChange {
  /** `add` to a counter, or `set` a value (a gauge, a timestamp) */
  op: 'add' | 'set';
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A durable number as `Engine.stats()` reads it back. */
export interface Stat {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MachineDefinition {
  machine: AnyStateMachine;
  /** bump when a change makes old snapshots incompatible */
  version: string;
  /** what a parent learns about this machine on each state change */
  summarize?(snapshot: AnyMachineSnapshot): unknown;
  /**
   * Pure: the durable numbers one applied event changes (`before` is null for the machine's first
   * snapshot; `at` is the commit's time, ms since epoch). Committed atomically with the snapshot.
   */
  stats?(before: AnyMachineSnapshot | null, after: AnyMachineSnapshot, at: number): StatChange[];
  /**
   * What a person must hear of at the default log level: entering one of these top-level `states`
   * (with the machine's summary), and these `emitted` event types, are logged at warn (else debug/info).
   */
  warn?: { states?: readonly string[]; emitted?: readonly string[] };
  /**
   * Whether a parent hears `ferry.child.state` for this machine's first state, at its creation.
   * false for a child whose parent spawns it knowing that state (the replication machine marks a
   * filesystem Working as it spawns it): one drain and one commit of the parent less per child. Every
   * later state change, and the end, is reported as always. @defaultValue true
   */
  reportInitialState?: boolean;
}

export interface Registry {
  machines: Record<string, MachineDefinition>;
  effects: Record<string, EffectDefinition>;
}

/**
 * Calls for benchmarks and diagnostics, made synchronously in the engine's hot path: keep them cheap.
 * bench/engine.bench.ts counts drain jobs, commits and events per commit with them.
 */
export interface EngineTrace {
  /** a drain job of this process starts on a machine */
  drainJob?(machineId: string): void;
  /** a commit of this process won its compare-and-set (`expectedVersion` 0: the machine's creation) */
  committed?(c: { machineId: string; expectedVersion: number; consumed: number }): void;
}
