const DONE_PREFIX = 'xstate.done.actor.';
const ERROR_PREFIX = 'xstate.error.actor.';

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
