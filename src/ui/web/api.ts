/** The live view's JSON API (src/ui/server.ts); the login cookie goes along. */
export async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (r.status === 401) {
    location.href = '/';
    throw new Error('not signed in');
  }
  const body = await r.json();
  if (!r.ok) throw new Error((body as { error?: string }).error ?? `${r.status}`);
  return body as T;
}

/** An action: asks first, then POSTs; resolves with the answer, or null when the person said no. */
export async function act<T>(question: string, path: string, body: unknown = {}): Promise<T | null> {
  if (!confirm(question)) return null;
  const r = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await r.json();
  if (!r.ok) throw new Error((answer as { error?: string }).error ?? `${r.status}`);
  return answer as T;
}

export interface Transition { id: string; kind: string; machineId: string; parent: string | null; from: string | null; to: string; event: string; at: number; version: number; status: string }

/**
 * Follows the transition stream after `after` (the log id the page's data was read at). The
 * browser reconnects by itself after a lost connection, sending the last id it got: the server
 * resumes after it, so no transition is missed.
 */
export function follow(params: Record<string, string | string[]>, onTransition: (t: Transition) => void, onState?: (open: boolean) => void): () => void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) if (x) q.append(k, x);
  const es = new EventSource(`/api/events?${q}`);
  es.addEventListener('transition', (e) => onTransition(JSON.parse((e as MessageEvent).data)));
  es.addEventListener('open', () => onState?.(true));
  es.addEventListener('error', () => onState?.(false));
  return () => es.close();
}
