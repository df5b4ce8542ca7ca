import type { MachineRow } from '../machines.js';
import { follow, getJson, type Transition } from './api.js';
import { ago, h, stateClass, time } from './dom.js';

export const ROW_PX = 28;

export interface ListFilter { kind: string; state: string; job: string; text: string; since: string }

/** Pure: the rows a filter keeps (`job`: a job's invocations are named after it; `since`: minutes). */
export function filterRows(rows: MachineRow[], f: ListFilter, now = Date.now()): MachineRow[] {
  const text = f.text.trim().toLowerCase();
  const job = f.job.trim();
  const since = Number(f.since) > 0 ? now - Number(f.since) * 60_000 : 0;
  return rows.filter((r) => (!f.kind || r.kind === f.kind)
    && (!f.state || r.state === f.state || r.state.startsWith(`${f.state}.`))
    && (!job || r.id.includes(job) || (r.parent ?? '').includes(job))
    && (!since || r.createdAt >= since || r.stateSince >= since)
    && (!text || r.id.toLowerCase().includes(text) || r.state.toLowerCase().includes(text)));
}

/**
 * A list of thousands of machines that stays responsive: only the rows in view (plus a margin) are
 * in the DOM, positioned inside a spacer as tall as the whole list.
 */
export class VirtualList {
  readonly el: HTMLElement;
  private readonly spacer: HTMLElement;
  private rows: MachineRow[] = [];
  private drawn = '';

  constructor() {
    this.spacer = h('div', { class: 'vlist-spacer' });
    this.el = h('div', { class: 'vlist', id: 'machine-list', role: 'list' }, this.spacer);
    this.el.addEventListener('scroll', () => this.draw());
  }

  set(rows: MachineRow[]): void {
    this.rows = rows;
    this.drawn = '';
    this.spacer.style.height = `${rows.length * ROW_PX}px`;
    this.draw();
  }

  draw(): void {
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_PX) - 10);
    const count = Math.ceil((this.el.clientHeight || 600) / ROW_PX) + 20;
    const slice = this.rows.slice(first, first + count);
    const key = `${first}:${slice.length}:${this.rows.length}`;
    if (key === this.drawn) return;
    this.drawn = key;
    this.spacer.replaceChildren(...slice.map((r, i) => h('a', {
      class: 'vrow', role: 'listitem', href: `#/machine/${encodeURIComponent(r.id)}`, 'data-id': r.id, style: `top:${(first + i) * ROW_PX}px`,
    }, h('span', { class: 'c-kind' }, r.kind), h('span', { class: 'c-id' }, r.id), h('span', { class: `c-state ${stateClass(r.state, r.status)}` }, r.state),
    h('span', { class: 'c-time', title: time(r.createdAt) }, ago(r.createdAt)))));
  }
}

function filterFromHash(): ListFilter {
  const q = new URLSearchParams(location.hash.split('?')[1] ?? '');
  return { kind: q.get('kind') ?? '', state: q.get('state') ?? '', job: q.get('job') ?? '', text: q.get('q') ?? '', since: q.get('since') ?? '' };
}

/** The machines page: filters (kept in the URL, so a filtered view is a link), the list, live states. */
export function machinesPage(root: HTMLElement): () => void {
  const f = filterFromHash();
  const list = new VirtualList();
  const count = h('span', { id: 'machine-count', class: 'muted' }, 'loading…');
  let rows: MachineRow[] = [];
  const byId = new Map<string, MachineRow>();
  const input = (name: keyof ListFilter, label: string, attrs: Record<string, string> = {}) => h('label', {}, `${label} `, h('input', { name, value: f[name], ...attrs, oninput: (e: Event) => { f[name] = (e.target as HTMLInputElement).value; apply(true); } }));
  const kindSelect = h('select', { name: 'kind', onchange: (e: Event) => { f.kind = (e.target as HTMLSelectElement).value; apply(true); } },
    ...['', 'job', 'replication', 'pruning', 'partition'].map((k) => h('option', { value: k, selected: k === f.kind }, k || 'any kind')));
  const apply = (toUrl: boolean) => {
    const shown = filterRows(rows, f);
    list.set(shown);
    count.textContent = `${shown.length} of ${rows.length} machines`;
    if (toUrl) {
      const q = new URLSearchParams(Object.entries({ kind: f.kind, state: f.state, job: f.job, q: f.text, since: f.since }).filter(([, v]) => v));
      history.replaceState(null, '', `#/machines${q.size ? `?${q}` : ''}`);
    }
  };
  root.replaceChildren(h('h2', {}, 'Machines'),
    h('form', { class: 'filters', onsubmit: (e: Event) => e.preventDefault() }, h('label', {}, 'kind ', kindSelect), input('state', 'state'), input('job', 'job'), input('since', 'last minutes', { type: 'number', min: '0' }), input('text', 'search', { type: 'search', placeholder: 'id or state' }), count),
    list.el);
  let stop: () => void = () => undefined;
  let closed = false;
  const perKind = new URLSearchParams(location.hash.split('?')[1] ?? '').get('perKind');
  void getJson<{ machines: MachineRow[]; logId: string }>(`/api/machines${perKind ? `?perKind=${encodeURIComponent(perKind)}` : ''}`).then(({ machines, logId }) => {
    if (closed) return;
    performance.mark('ferry:machines-loaded');
    rows = machines;
    for (const r of rows) byId.set(r.id, r);
    apply(false);
    // what bench/ui.bench.ts reads: the list in the DOM
    performance.mark('ferry:machines-rendered');
    let pending: ReturnType<typeof setTimeout> | null = null;
    stop = follow({ after: logId }, (t: Transition) => {
      const r = byId.get(t.machineId);
      if (r) Object.assign(r, { state: t.to, status: t.status, stateSince: t.at });
      else if (t.parent === null) {
        const row: MachineRow = { id: t.machineId, kind: t.kind, state: t.to, status: t.status as MachineRow['status'], createdAt: t.at, stateSince: t.at, parent: null };
        rows.unshift(row);
        byId.set(row.id, row);
      } else return;
      // batch redraws: a burst of transitions redraws once
      pending ??= setTimeout(() => { pending = null; apply(false); }, 200);
    });
  }, (err: Error) => root.append(h('p', { class: 'problem' }, err.message)));
  return () => { closed = true; stop(); };
}
