import type { LaidOutDiagram } from '../diagram-layout.js';
import { stateLines, transitionLabel } from '../diagram.js';
import { s } from './dom.js';

/** Pure: the state ids a state name (`Working`, `Parent.Child`) is in, under the machine's id. */
export function idsOfStateName(rootId: string, name: string): string[] {
  const parts = name.split('.');
  return parts.map((_, i) => `${rootId}.${parts.slice(0, i + 1).join('.')}`);
}

/**
 * Draws a laid-out statechart as SVG: states as rounded boxes (nested inside their parents),
 * initial states marked, invoked effects and handled events listed inside, transitions as arrows
 * labelled with their event, delay or guard. Highlight with `highlight()`.
 */
export function renderDiagram(d: LaidOutDiagram): { svg: SVGSVGElement; highlight(stateName: string | null): void } {
  const svg = s('svg', { viewBox: `0 0 ${Math.ceil(d.width)} ${Math.ceil(d.height)}`, width: Math.ceil(d.width), height: Math.ceil(d.height), class: 'diagram', role: 'img', 'aria-label': `${d.kind} statechart` }) as SVGSVGElement;
  svg.append(s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))));
  const boxes = new Map<string, SVGElement>();
  for (const st of d.states) {
    const g = s('g', { class: `state state-${st.type}${st.parent === null ? ' state-root' : ''}`, 'data-state': st.id });
    g.append(s('rect', { x: st.x, y: st.y, width: st.width, height: st.height, rx: 8, ry: 8 }));
    if (st.type === 'final') g.append(s('rect', { x: st.x + 3, y: st.y + 3, width: st.width - 6, height: st.height - 6, rx: 6, ry: 6, class: 'final-inner' }));
    g.append(s('text', { x: st.x + 10, y: st.y + 18, class: 'state-name' }, st.key));
    if (st.initial) g.append(s('circle', { cx: st.x - 2, cy: st.y - 2, r: 4, class: 'initial-dot' }));
    let y = st.y + 36;
    for (const line of stateLines(st)) {
      g.append(s('text', { x: st.x + 10, y, class: 'state-line' }, line));
      y += 16;
    }
    g.append(s('title', {}, st.id));
    boxes.set(st.id, g);
    svg.append(g);
  }
  for (const t of d.transitions) {
    if (t.points.length < 2) continue;
    const g = s('g', { class: `transition transition-${t.trigger}`, 'data-source': t.source, 'data-target': t.target });
    g.append(s('polyline', { points: t.points.map((p) => `${p.x},${p.y}`).join(' '), 'marker-end': 'url(#arrow)' }));
    if (t.labelAt) g.append(s('text', { x: t.labelAt.x, y: t.labelAt.y + 11, class: 'transition-label' }, transitionLabel(t)));
    g.append(s('title', {}, `${t.event || 'always'}${t.guard ? ` if ${t.guard}` : ''}: ${t.source} → ${t.target}`));
    svg.append(g);
  }
  return {
    svg,
    highlight(stateName) {
      const active = new Set(stateName ? idsOfStateName(d.rootId, stateName) : []);
      for (const [id, g] of boxes) g.classList.toggle('active', active.has(id));
      // the innermost active state in view, in a drawing wider than its box
      const inner = stateName ? boxes.get(idsOfStateName(d.rootId, stateName).at(-1)!) : undefined;
      inner?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
      for (const el of svg.querySelectorAll<SVGGElement>('g.transition')) el.classList.toggle('from-active', active.has(el.dataset.source ?? ''));
    },
  };
}
