import type { LaidOutDiagram } from '../diagram-layout.js';
import type { MachineDetail } from '../machines.js';
import { follow, getJson, type Transition } from './api.js';
import { renderDiagram } from './diagram-svg.js';
import { h, stateClass, time } from './dom.js';

const diagramCache = new Map<string, Promise<LaidOutDiagram>>();
export function diagramFor(kind: string): Promise<LaidOutDiagram> {
  let d = diagramCache.get(kind);
  if (!d) diagramCache.set(kind, (d = getJson<LaidOutDiagram>(`/api/diagrams/${encodeURIComponent(kind)}`)));
  return d;
}

function historyRow(t: Transition, i: number): HTMLElement {
  return h('tr', { 'data-id': t.id, 'data-index': i },
    h('td', {}, time(t.at)), h('td', {}, t.event), h('td', {}, t.from ?? '(start)'), h('td', {}, h('span', { class: stateClass(t.to, t.status) }, t.to)));
}

/**
 * A machine instance: its diagram with the current state highlighted (live), its context, children
 * and transition history, with a slider to travel back through that history.
 */
export function machinePage(root: HTMLElement, id: string): () => void {
  let closed = false;
  let stop: () => void = () => undefined;
  root.replaceChildren(h('p', { class: 'muted' }, `loading ${id}…`));
  void (async () => {
    const m = await getJson<MachineDetail>(`/api/machines/${encodeURIComponent(id)}`);
    const diagram = await diagramFor(m.kind);
    if (closed) return;
    const history: Transition[] = m.history.map((t) => ({ ...t, id: t.id! }));
    let current = m.state;
    const drawn = renderDiagram(diagram);
    const stateLabel = h('span', { id: 'current-state', class: stateClass(current, m.status) }, current);
    const live = h('span', { id: 'live', class: 'muted' }, 'connecting…');
    const slider = h('input', { type: 'range', id: 'time-travel', min: '0', max: String(history.length), value: String(history.length), 'aria-label': 'time travel through the transitions' });
    const sliderNote = h('span', { id: 'time-travel-note', class: 'muted' }, 'now');
    const tbody = h('tbody', { id: 'history' }, ...history.map(historyRow));
    const context = h('pre', { id: 'context' }, JSON.stringify(m.context, null, 2));
    const atEnd = () => Number(slider.value) >= history.length - 0;
    const showAt = (n: number) => {
      // n transitions in: the state the nth led to (0: the state before the first one kept)
      const name = n === history.length ? current : n === 0 ? (history[0]?.from ?? current) : history[n - 1].to;
      drawn.highlight(name);
      sliderNote.textContent = n === history.length ? 'now' : `after ${n} of ${history.length}: ${name} at ${n ? time(history[n - 1].at) : ''}`;
      for (const tr of tbody.children) tr.classList.toggle('travel', Number((tr as HTMLElement).dataset.index) === n - 1 && n !== history.length);
    };
    slider.addEventListener('input', () => showAt(Number(slider.value)));
    drawn.highlight(current);
    const children = h('ul', { id: 'children' }, ...m.children.map((c) => h('li', {}, c.instanceId ? h('a', { href: `#/machine/${encodeURIComponent(c.instanceId)}` }, `${c.key} (${c.src})`) : `${c.key}: effect ${c.src}`)));
    root.replaceChildren(...([
      h('h2', {}, `${m.kind} `, h('code', { id: 'machine-id' }, m.id), ' ', stateLabel, ' ', live),
      m.parent ? h('p', {}, 'parent: ', h('a', { href: `#/machine/${encodeURIComponent(m.parent)}` }, m.parent)) : null,
      h('div', { class: 'diagram-box', id: 'diagram' }, drawn.svg),
      h('p', { class: 'travel-bar' }, h('label', { for: 'time-travel' }, 'history '), slider, ' ', sliderNote),
      h('div', { class: 'columns' },
        h('section', {}, h('h3', {}, 'Context'), context, h('h3', {}, 'Children'), m.children.length ? children : h('p', { class: 'muted' }, 'none')),
        h('section', {}, h('h3', {}, 'Transitions'), h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ...['time', 'event', 'from', 'to'].map((t) => h('th', {}, t)))), tbody)))] as Array<HTMLElement | null>).filter((x): x is HTMLElement => x !== null));
    let refetch: ReturnType<typeof setTimeout> | null = null;
    stop = follow({ machine: m.id, after: m.logId }, (t) => {
      if (t.machineId !== m.id) return;
      const following = atEnd();
      history.push(t);
      tbody.append(historyRow(t, history.length - 1));
      current = t.to;
      stateLabel.textContent = t.to;
      stateLabel.className = stateClass(t.to, t.status);
      slider.max = String(history.length);
      if (following) slider.value = String(history.length);
      showAt(Number(slider.value));
      // the context as committed (the stream carries states, not contexts)
      refetch ??= setTimeout(async () => {
        refetch = null;
        const fresh = await getJson<{ context: unknown }>(`/api/machines/${encodeURIComponent(id)}/context`).catch(() => null);
        if (fresh && !closed) context.textContent = JSON.stringify(fresh.context, null, 2);
      }, 300);
    }, (open) => { live.textContent = open ? 'live' : 'reconnecting…'; live.dataset.open = String(open); });
  })().catch((err: Error) => root.replaceChildren(h('p', { class: 'problem' }, err.message)));
  return () => { closed = true; stop(); };
}

/** A machine kind's statechart alone (#/diagram/<kind>). */
export function diagramPage(root: HTMLElement, kind: string): () => void {
  void diagramFor(kind).then((d) => {
    const drawn = renderDiagram(d);
    root.replaceChildren(h('h2', {}, `${kind} statechart`), h('div', { class: 'diagram-box', id: 'diagram' }, drawn.svg));
  }, (err: Error) => root.replaceChildren(h('p', { class: 'problem' }, err.message)));
  return () => undefined;
}
