import { readEffectError } from './effect.js';

const DONE_PREFIX = 'xstate.done.actor.';
const ERROR_PREFIX = 'xstate.error.actor.';

/**
 * What a parent machine records of each child machine it spawns (a job its replications, a
 * replication its filesystems), from the engine's `ferry.child.state` reports and the children's
 * done and error events. The parents' entries add their own fields.
 */
export interface ChildEntry {
  /** index in the parent's list */
  index: number;
  childId: string;
  /** 'Pending' until spawned, then the child's last reported state */
  state: string;
  /** the child reached a final state and its output (or its failure) was recorded */
  done: boolean;
  bytes: number;
  problem: string | null;
}

/**
 * Pure: the child id an event of a parent machine is about: `childId` of the engine's
 * `ferry.child.state`, or parsed from an `xstate.done.actor.<id>` / `xstate.error.actor.<id>` type.
 */
export function childIdOf(event: { type: string; childId?: unknown }): string | undefined {
  if (event.type === 'ferry.child.state') return typeof event.childId === 'string' ? event.childId : undefined;
  if (event.type.startsWith(DONE_PREFIX)) return event.type.slice(DONE_PREFIX.length);
  if (event.type.startsWith(ERROR_PREFIX)) return event.type.slice(ERROR_PREFIX.length);
  return undefined;
}

/** Pure: the id of the child to stop once its result is recorded (`stopChild` of the event's child). */
export function releasedChildId(_: unknown, params: { type: string }): string {
  return childIdOf(params) ?? '';
}

function entryOf<E extends ChildEntry>(entries: readonly E[], event: { type: string; childId?: unknown }): E | undefined {
  const id = childIdOf(event);
  return id === undefined ? undefined : entries.find((e) => e.childId === id);
}

function isUnfinished(entry: ChildEntry | undefined): entry is ChildEntry {
  return entry !== undefined && entry.state !== 'Pending' && !entry.done;
}

/** Pure: whether the event is about a spawned child whose result is not recorded yet. */
export function isUnfinishedChild(entries: readonly ChildEntry[], event: { type: string; childId?: unknown }): boolean {
  return isUnfinished(entryOf(entries, event));
}

/**
 * Pure: `entries` with the entry of the event's child replaced by `update(entry)`; undefined (keep
 * what we have) when the child is unknown, not spawned yet, or finished: a report that arrives
 * after the child's output changes nothing.
 */
export function updateUnfinishedChild<E extends ChildEntry>(
  entries: readonly E[],
  event: { type: string; childId?: unknown },
  update: (entry: E) => E,
): E[] | undefined {
  const entry = entryOf(entries, event);
  if (!isUnfinished(entry)) return undefined;
  const next = update(entry);
  return entries.map((e) => (e.index === next.index ? next : e));
}

/** Pure: what an entry becomes when its child machine itself failed (a bug or a corrupt snapshot). */
export function childMachineFailed(machine: string, error: unknown): { done: true; state: 'PermanentError'; problem: string } {
  return { done: true, state: 'PermanentError', problem: `${machine} machine failed: ${readEffectError(error).message}` };
}

/** Pure: every child finished and completed. */
export function allChildrenCompleted(entries: readonly ChildEntry[]): boolean {
  return entries.every((e) => e.done && e.state === 'Completed');
}

/** Pure: every child finished. */
export function allChildrenDone(entries: readonly ChildEntry[]): boolean {
  return entries.every((e) => e.done);
}

/** Pure: "<n> of <total> <what> failed: <label>: <problem>; ..." for the children that did not complete. */
export function failedChildrenSummary<E extends ChildEntry>(entries: readonly E[], what: string, label: (e: E) => string): string {
  const failed = entries.filter((e) => e.state !== 'Completed');
  return `${failed.length} of ${entries.length} ${what} failed: ${failed.map((e) => `${label(e)}: ${e.problem ?? 'failed'}`).join('; ')}`;
}
