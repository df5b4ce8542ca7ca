import type { JobView, PartitionStatus, RunView, TargetView } from '../../service/views.js';
import { act, follow, getJson } from './api.js';
import { ago, bytes, h, stateClass, time } from './dom.js';

interface Overview { jobs: JobView[]; runs: RunView[]; partitions: PartitionStatus[]; targets: TargetView[]; queues: Record<string, Record<string, number>>; logId: string }

const FINISHED = /^(Completed|PermanentError|Done|Failed|Cancelled)$/;

function notify(text: string, bad = false): void {
  const el = h('div', { class: `toast${bad ? ' toast-bad' : ''}`, role: 'status' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 6000);
}

/** Runs an action and shows its answer (or its error). */
async function doAction<T>(question: string, path: string, body: unknown, describe: (r: T) => string, after: () => void): Promise<void> {
  try {
    const r = await act<T>(question, path, body);
    if (r !== null) notify(describe(r));
  } catch (err) {
    notify(`failed: ${(err as Error).message}`, true);
  }
  after();
}

function scheduleText(s: JobView['spec']['schedule']): string {
  if (!s) return '(manual)';
  const tz = s.timezone ? ` ${s.timezone}` : '';
  return 'cron' in s ? `cron ${s.cron}${tz}` : `every ${s.everyMs >= 60_000 ? `${s.everyMs / 60_000} min` : `${s.everyMs / 1000} s`}${tz}`;
}

function jobsTable(o: Overview, refresh: () => void): HTMLElement {
  const rows = o.jobs.map((j) => {
    const last = o.runs.find((r) => r.kind === 'job' && r.id === j.lastRun);
    const lastOk = o.runs.find((r) => r.kind === 'job' && r.job === j.spec.name && r.state === 'Completed');
    return h('tr', { 'data-job': j.spec.name },
      h('td', {}, h('a', { href: `#/machines?job=${encodeURIComponent(j.spec.name)}` }, j.spec.name)),
      h('td', {}, scheduleText(j.spec.schedule)),
      h('td', {}, j.lastRun ? h('a', { href: `#/machine/${encodeURIComponent(j.lastRun)}` }, last ? h('span', { class: stateClass(last.state) }, last.state) : 'last run') : '—'),
      h('td', { title: lastOk?.createdAt ?? '' }, lastOk ? ago(lastOk.createdAt) : '—'),
      h('td', { title: j.nextRunAt ?? '' }, j.nextRunAt ? `${time(j.nextRunAt)} (${ago(j.nextRunAt)})` : '—'),
      h('td', { class: 'actions' },
        h('button', { onclick: () => doAction<{ runId: string; started: boolean }>(`Run job ${j.spec.name} now?`, `/api/jobs/${encodeURIComponent(j.spec.name)}/run`, {}, (r) => r.started ? `started ${r.runId}` : `already running: ${r.runId}`, refresh) }, 'Run now'),
        h('button', { onclick: () => doAction<{ outcome: string }>(`Send wakeup to job ${j.spec.name}'s run? (retries waiting work now)`, `/api/jobs/${encodeURIComponent(j.spec.name)}/signal`, { signal: 'wakeup' }, (r) => `wakeup: ${r.outcome}`, refresh) }, 'Wakeup'),
        h('button', { onclick: () => doAction<{ outcome: string }>(`Send reset to job ${j.spec.name}'s run? (stops it)`, `/api/jobs/${encodeURIComponent(j.spec.name)}/signal`, { signal: 'reset' }, (r) => `reset: ${r.outcome}`, refresh) }, 'Reset')));
  });
  return h('table', { class: 'grid', id: 'jobs' }, h('thead', {}, h('tr', {}, ...['job', 'schedule', 'last run', 'last success', 'next firing', ''].map((t) => h('th', {}, t)))), h('tbody', {}, ...rows));
}

function progress(done: number, total: number): HTMLElement {
  const pct = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
  return h('span', { class: 'bar', title: `${done}/${total}` }, h('span', { class: 'bar-fill', style: `width:${pct}%` }), h('span', { class: 'bar-text' }, `${done}/${total}`));
}

function runsInFlight(o: Overview): HTMLElement {
  const reps = o.runs.flatMap((r) => (r.kind === 'job' ? r.replications : [r])).filter((r) => !FINISHED.test(r.state));
  if (!reps.length) return h('p', { class: 'muted', id: 'runs' }, 'No replication in flight.');
  return h('div', { id: 'runs' }, ...reps.map((r) => h('section', { class: 'run' },
    h('h3', {}, h('a', { href: `#/machine/${encodeURIComponent(r.id)}` }, r.id), ' ', h('span', { class: stateClass(r.state) }, r.state), r.job ? ` job ${r.job}` : '', ` ${r.sender} → ${r.receiver ?? ''}`, ` ${bytes(r.bytes)}`),
    r.problem ? h('p', { class: 'problem' }, r.problem) : null,
    h('table', { class: 'grid' }, h('tbody', {}, ...r.filesystems.map((f) => h('tr', {},
      h('td', {}, f.name), h('td', {}, h('span', { class: stateClass(f.state) }, f.state)),
      h('td', {}, progress(f.stepsDone, f.stepsTotal)),
      h('td', {}, bytes(f.bytes), f.currentStep?.total ? ` (step ${bytes(f.currentStep.bytes)} of ${bytes(f.currentStep.total)})` : ''),
      h('td', {}, f.currentStep?.etaSeconds != null ? `ETA ${Math.round(f.currentStep.etaSeconds)} s` : f.sleepUntil ? `retry ${ago(f.sleepUntil)}` : ''),
      h('td', { class: 'problem' }, f.problem ?? ''))))))));
}

function partitionsTable(o: Overview, refresh: () => void): HTMLElement {
  if (!o.partitions.length) return h('p', { class: 'muted', id: 'partitions' }, 'No archiver partitions.');
  return h('table', { class: 'grid', id: 'partitions' }, h('thead', {}, h('tr', {}, ...['partition', 'state', 'next LSN', 'backlog', 'gaps', 'sink', 'problem', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, ...o.partitions.map((p) => h('tr', {},
      h('td', {}, h('a', { href: `#/machine/${encodeURIComponent(p.id)}` }, `${p.storage}/${p.partition}`)),
      h('td', {}, h('span', { class: stateClass(p.state) }, p.state)),
      h('td', {}, p.nextLsn), h('td', {}, Math.max(0, p.highWaterMark - p.nextLsn + 1)), h('td', {}, p.gaps), h('td', {}, p.sink),
      h('td', { class: 'problem' }, p.problem ?? p.lastError?.message ?? ''),
      h('td', {}, p.state === 'Failed' ? h('button', { onclick: () => doAction<{ state?: string }>(`Reset the Failed partition ${p.storage}/${p.partition}? Only after the cause is fixed.`, '/api/partitions/reset', { storage: p.storage, partition: p.partition, consumer: p.consumer, sink: p.sink, log: p.log }, () => 'partition reset', refresh) }, 'Reset') : '')))));
}

function targetsTable(o: Overview): HTMLElement {
  if (!o.targets.length) return h('p', { class: 'muted', id: 'agents' }, 'No agents (grpc:// targets) seen.');
  return h('table', { class: 'grid', id: 'agents' }, h('thead', {}, h('tr', {}, ...['agent', 'health', 'since', 'failures', 'last error', 'next check'].map((t) => h('th', {}, t)))),
    h('tbody', {}, ...o.targets.map((t) => h('tr', {}, h('td', {}, t.target), h('td', {}, h('span', { class: t.healthy ? 'st-ok' : 'st-bad' }, t.healthy ? 'healthy' : 'unhealthy')),
      h('td', {}, ago(t.since)), h('td', {}, t.failures), h('td', { class: 'problem' }, t.lastError ?? ''), h('td', {}, t.nextCheckAt ? ago(t.nextCheckAt) : '')))));
}

function queuesLine(o: Overview): HTMLElement {
  return h('p', { id: 'queues' }, ...Object.entries(o.queues).map(([q, c]) => h('span', { class: 'queue' }, `${q}: ${c.active ?? 0} active, ${c.wait ?? c.waiting ?? 0} waiting, ${c.delayed ?? 0} delayed, ${c.failed ?? 0} failed `)), h('a', { href: '/queues/' }, 'bull-board'));
}

/** The home page: jobs, runs in flight, partitions, agents, queues; refreshed as transitions arrive. */
export function homePage(root: HTMLElement): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  const render = async () => {
    timer = null;
    try {
      const o = await getJson<Overview>('/api/overview');
      if (closed) return;
      root.replaceChildren(
        h('h2', {}, 'Jobs'), jobsTable(o, refresh),
        h('h2', {}, 'Runs in flight'), runsInFlight(o),
        h('h2', {}, 'Archiver partitions'), partitionsTable(o, refresh),
        h('h2', {}, 'Agents'), targetsTable(o),
        h('h2', {}, 'Queues'), queuesLine(o));
    } catch (err) {
      root.replaceChildren(h('p', { class: 'problem' }, (err as Error).message));
    }
  };
  // at most one reload a second however many transitions arrive
  const refresh = () => { timer ??= setTimeout(render, 1000); };
  void render();
  const stop = follow({}, refresh);
  return () => { closed = true; stop(); if (timer) clearTimeout(timer); };
}
