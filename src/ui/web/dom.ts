/** A tiny element builder: h('a', { href }, 'text', child). */
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as EventListener);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: Array<Node | string>): SVGElement {
  const el = document.createElementNS(SVG, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function ago(ms: number | string | null): string {
  if (ms === null || ms === 0 || ms === '') return '';
  const t = typeof ms === 'string' ? Date.parse(ms) : ms;
  const d = Math.round((Date.now() - t) / 1000);
  const abs = Math.abs(d);
  const txt = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return d >= 0 ? `${txt} ago` : `in ${txt}`;
}

export function time(ms: number | string | null): string {
  if (ms === null || ms === 0 || ms === '') return '';
  return new Date(typeof ms === 'string' ? Date.parse(ms) : ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function stateClass(state: string, status?: string): string {
  if (status === 'error' || /PermanentError|Failed|Err/.test(state)) return 'st-bad';
  if (status === 'done' || /Completed|Done|Idle/.test(state)) return 'st-ok';
  if (/Wait|Error|Backoff/.test(state)) return 'st-wait';
  return 'st-run';
}
