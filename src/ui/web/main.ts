import { getJson } from './api.js';
import { h } from './dom.js';
import { homePage } from './home.js';
import { machinesPage } from './machine-list.js';
import { diagramPage, machinePage } from './machine-page.js';

/** Hash routes, so every view is a link: #/, #/machines?kind=…, #/machine/<id>, #/diagram/<kind>. */
function route(root: HTMLElement): () => void {
  const hash = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const path = hash.split('?')[0];
  const m = /^\/machine\/(.+)$/.exec(path);
  if (m) return machinePage(root, m[1]);
  const d = /^\/diagram\/(.+)$/.exec(path);
  if (d) return diagramPage(root, d[1]);
  if (path === '/machines') return machinesPage(root);
  return homePage(root);
}

async function start(): Promise<void> {
  const main = document.getElementById('main')!;
  const { kinds } = await getJson<{ kinds: string[] }>('/api/diagrams');
  document.getElementById('kinds')!.replaceChildren(...kinds.map((k) => h('a', { href: `#/diagram/${k}` }, k)));
  let leave = route(main);
  let lastPath = location.hash.split('?')[0];
  window.addEventListener('hashchange', () => {
    // the list's filters change the query only: the page stays
    const p = location.hash.split('?')[0];
    if (p === lastPath && p === '#/machines') return;
    lastPath = p;
    leave();
    leave = route(main);
  });
}

void start();
