import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { MachineRecord } from './types.js';

/**
 * XState-shaped inspection events, produced by the engine per committed transition (pure
 * transitions emit none). `sessionId` is the durable machine id, stable across processes,
 * so an inspector shows one actor per machine whatever worker committed it.
 */
export type InspectionEvent =
  | { type: '@xstate.actor'; rootId: string; sessionId: string; parentId?: string; kind: string; definition?: unknown }
  | { type: '@xstate.event'; rootId: string; sessionId: string; sourceId?: string; event: EventObject }
  | { type: '@xstate.snapshot'; rootId: string; sessionId: string; event: EventObject; snapshot: { value: unknown; context: unknown; status: string } };

export type InspectFn = (e: InspectionEvent) => void;

export function rootOf(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

export function actorEvent(rec: MachineRecord, definition?: unknown): InspectionEvent {
  return { type: '@xstate.actor', rootId: rootOf(rec.id), sessionId: rec.id, parentId: rec.parent ?? undefined, kind: rec.kind, definition };
}

export function transitionEvents(rec: MachineRecord, event: EventObject, snap: AnyMachineSnapshot, sourceId?: string): InspectionEvent[] {
  const rootId = rootOf(rec.id);
  return [
    { type: '@xstate.event', rootId, sessionId: rec.id, sourceId, event },
    { type: '@xstate.snapshot', rootId, sessionId: rec.id, event, snapshot: { value: snap.value, context: snap.context, status: snap.status } },
  ];
}
