import type { AnyStateMachine } from 'xstate';

/** One state of a machine kind's statechart, as the UI draws it. */
export interface DiagramState {
  /** the XState state node id, e.g. `replication.Planning` */
  id: string;
  key: string;
  /** the enclosing state's id; null for the machine itself */
  parent: string | null;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** whether this is its parent's initial state */
  initial: boolean;
  /** the `src` of every effect or child machine it invokes */
  invokes: string[];
  /** events it handles without leaving (targetless transitions) */
  handles: string[];
}

/** One transition: an event, a named `after` delay, or an eventless (`always`) one. */
export interface DiagramTransition {
  id: string;
  source: string;
  target: string;
  /** the event type as XState names it (`xstate.after.<delay>.<state>` for a delay, '' for eventless ones) */
  event: string;
  /** what the arrow says: the event, shortened for XState's own (`done: plan` for `xstate.done.actor.plan`), `after <delay>`, or `always` */
  label: string;
  trigger: 'event' | 'after' | 'always';
  /** the guard's name, or null */
  guard: string | null;
}

export interface Diagram {
  kind: string;
  /** the machine's own id (the prefix of its state ids) */
  rootId: string;
  states: DiagramState[];
  transitions: DiagramTransition[];
}

/** the parts of an XState v5 StateNode this file reads */
interface NodeLike {
  id: string;
  key: string;
  type: DiagramState['type'];
  parent?: NodeLike;
  states: Record<string, NodeLike>;
  initial?: { target: NodeLike[] };
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  after: Array<{ eventType: string; delay: string | number }>;
  invoke: Array<{ src: unknown; id?: string }>;
}
interface TransitionLike { target?: NodeLike[]; guard?: unknown; eventType: string }

/** Pure: XState's own event names said shortly: `xstate.done.actor.plan` → `done: plan`, `xstate.error.actor.*` → `error: *`. */
export function shortEvent(type: string): string {
  const m = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  return m ? `${m[1]}: ${m[2]}` : type;
}

function guardName(g: unknown): string | null {
  if (g === undefined || g === null) return null;
  if (typeof g === 'string') return g;
  if (typeof g === 'function') return g.name || 'guard';
  if (typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') return (g as { type: string }).type;
  return 'guard';
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  const id = (src as { id?: unknown })?.id;
  return typeof id === 'string' ? id : 'actor';
}

/**
 * Pure: the statechart of a machine, read from its definition (states, nested states, transitions
 * with their events and guards, named `after` delays, invoked `src`s), so the picture is the code.
 */
export function diagramOf(kind: string, machine: AnyStateMachine): Diagram {
  const root = machine.root as unknown as NodeLike;
  const stateOf = (node: NodeLike, parent: NodeLike | null, initial: boolean): DiagramState => ({
    id: node.id, key: node.key, parent: parent?.id ?? null, type: node.type, initial, invokes: node.invoke.map((i) => srcName(i.src)), handles: [],
  });
  const states: DiagramState[] = [stateOf(root, null, false)];
  const transitions: DiagramTransition[] = [];
  const walk = (node: NodeLike, me: DiagramState) => {
    const delays = new Map(node.after.map((a) => [a.eventType, String(a.delay)]));
    const add = (t: TransitionLike, event: string, label: string, trigger: DiagramTransition['trigger']) => {
      const targets = t.target ?? [];
      if (!targets.length && !me.handles.includes(label)) me.handles.push(label);
      for (const target of targets) transitions.push({ id: `t${transitions.length}`, source: node.id, target: target.id, event, label, trigger, guard: guardName(t.guard) });
    };
    for (const [eventType, list] of node.transitions) {
      const delay = delays.get(eventType);
      for (const t of list) add(t, eventType, delay === undefined ? shortEvent(eventType) : `after ${delay}`, delay === undefined ? 'event' : 'after');
    }
    for (const t of node.always ?? []) add(t, '', 'always', 'always');
    const initialIds = new Set((node.initial?.target ?? []).map((t) => t.id));
    for (const child of Object.values(node.states)) {
      const state = stateOf(child, node, initialIds.has(child.id));
      states.push(state);
      walk(child, state);
    }
  };
  walk(root, states[0]);
  return { kind, rootId: root.id, states, transitions };
}

/** Pure: the ids of the states a snapshot's value is in (`{ A: 'B' }` → `kind.A`, `kind.A.B`). */
export function activeStateIds(rootId: string, value: unknown): string[] {
  const out: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string') out.push(`${prefix}.${v}`);
    else if (v && typeof v === 'object') {
      for (const [k, sub] of Object.entries(v)) {
        out.push(`${prefix}.${k}`);
        walk(`${prefix}.${k}`, sub);
      }
    }
  };
  walk(rootId, value);
  return out;
}

/** The lines under a state's name (its invokes, the events it handles): the layout sizes its box by them, the browser draws them. */
export function stateLines(s: DiagramState): string[] {
  return [...s.invokes.map((src) => `invoke ${src}`), ...s.handles.map((e) => `on ${e}`)];
}

/** A transition's label as drawn (event and guard): the layout places it by its length. */
export function transitionLabel(t: DiagramTransition): string {
  return t.guard ? `${t.label} [${t.guard}]` : t.label;
}
