import { createRequire } from 'node:module';
import type { ELK, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { stateLines, transitionLabel, type Diagram, type DiagramState, type DiagramTransition } from './diagram.js';

/** A state placed on the page: absolute coordinates in px. */
export interface PlacedState extends DiagramState { x: number; y: number; width: number; height: number }
/** A transition's route (absolute points, start to end) and its label's box. */
export interface PlacedTransition extends DiagramTransition {
  points: Array<{ x: number; y: number }>;
  labelAt: { x: number; y: number; width: number; height: number } | null;
}
export interface LaidOutDiagram extends Omit<Diagram, 'states' | 'transitions'> {
  width: number;
  height: number;
  states: PlacedState[];
  transitions: PlacedTransition[];
}

/** elkjs's bundle (layout in this process, no worker thread); a CommonJS module whose export is the class */
const ElkConstructor = createRequire(import.meta.url)('elkjs/lib/elk.bundled.js') as new () => ELK;

/** the web app's font: 12 px sans-serif, about 7 px a character */
const CHAR_PX = 7;
const LINE_PX = 16;

/**
 * Lays a diagram out with elkjs (layered, top to bottom, nested states inside their parents).
 * Coordinates are absolute (ELK's ROOT coordinate mode), so the browser draws without sums.
 */
export async function layoutDiagram(d: Diagram): Promise<LaidOutDiagram> {
  const nodes = new Map<string, ElkNode>();
  const top: ElkNode[] = [];
  for (const s of d.states) {
    const body = stateLines(s);
    const width = Math.max(s.key.length * (CHAR_PX + 1), ...body.map((l) => l.length * CHAR_PX)) + 24;
    const node: ElkNode = { id: s.id, width, height: 28 + body.length * LINE_PX, children: [], layoutOptions: { 'elk.padding': `[top=${32 + body.length * LINE_PX},left=16,bottom=16,right=16]` } };
    nodes.set(s.id, node);
    (s.parent ? nodes.get(s.parent)!.children! : top).push(node);
  }
  const edges: ElkExtendedEdge[] = d.transitions.map((t) => {
    const text = transitionLabel(t);
    return { id: t.id, sources: [t.source], targets: [t.target], labels: [{ id: `${t.id}l`, text, width: text.length * CHAR_PX * 0.9, height: 14 }] };
  });
  const graph: ElkNode = {
    id: '__root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
      'elk.edgeRouting': 'SPLINES',
      'elk.layered.spacing.nodeNodeBetweenLayers': '48',
      'elk.spacing.nodeNode': '36',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
    },
    children: top,
    edges,
  };
  const out = await new ElkConstructor().layout(graph);
  const placed = new Map<string, ElkNode>();
  const visit = (n: ElkNode) => {
    placed.set(n.id, n);
    n.children?.forEach(visit);
  };
  visit(out);
  const routes = new Map<string, ElkExtendedEdge>();
  const collect = (n: ElkNode) => {
    for (const e of n.edges ?? []) routes.set(e.id, e);
    n.children?.forEach(collect);
  };
  collect(out);
  return {
    kind: d.kind,
    rootId: d.rootId,
    width: out.width ?? 0,
    height: out.height ?? 0,
    states: d.states.map((s) => {
      const n = placed.get(s.id)!;
      return { ...s, x: n.x ?? 0, y: n.y ?? 0, width: n.width ?? 0, height: n.height ?? 0 };
    }),
    transitions: d.transitions.map((t) => {
      const e = routes.get(t.id);
      const section = e?.sections?.[0];
      const points = section ? [section.startPoint, ...(section.bendPoints ?? []), section.endPoint] : [];
      const l = e?.labels?.[0];
      return { ...t, points, labelAt: l ? { x: l.x ?? 0, y: l.y ?? 0, width: l.width ?? 0, height: l.height ?? 0 } : null };
    }),
  };
}
