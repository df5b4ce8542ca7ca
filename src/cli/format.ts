import type { Report, RunTiming } from '../replication/report.js';
import type { JobSchedule } from '../jobs/spec.js';
import type { JobView, RunView, TargetView } from '../service/views.js';
import { formatDuration, formatDurationExact } from './duration.js';
import type { JobSendOptions } from '../../machines/send-options.js';
import { formatByteRate, humanBytes } from '../util/bytes.js';


/** A job's schedule for a person: "every 10m", "cron \"0 * * * *\" (UTC)", "on demand". */
export function describeSchedule(s: JobSchedule | undefined): string {
  if (!s) return 'on demand';
  if ('everyMs' in s) return `every ${formatDurationExact(s.everyMs)}`;
  return `cron "${s.cron}"${s.timezone ? ` (${s.timezone})` : ' (UTC)'}`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

/** A run report for a person. */
export function formatReport(r: Report): string {
  const head = [`run ${r.id}: ${r.state}`];
  if (r.problem) head.push(`  problem: ${r.problem}`);
  if (r.sleepUntil) head.push(`  waiting until ${r.sleepUntil}`);
  if (!r.filesystems.length) return [...head, '  (no filesystems)'].join('\n');
  const rows = [['FILESYSTEM', 'STATE', 'STEPS', 'BYTES', 'PROBLEM']];
  for (const f of r.filesystems) {
    const step = f.currentStep;
    const running = step ? `step ${step.index + 1}: ${humanBytes(step.bytes)}${step.total ? ` of ${humanBytes(step.total)}` : ''}${step.etaSeconds !== null ? `, ETA ${step.etaSeconds}s` : ''}` : '';
    rows.push([f.name, f.state, `${f.stepsDone}/${f.stepsTotal}`, humanBytes(f.bytes), f.problem ?? (f.sleepUntil ? `retry at ${f.sleepUntil}` : running)]);
  }
  const lines = [...head, table(rows).replace(/^/gm, '  ')];
  if (r.timing) lines.push(`  ${formatTiming(r.timing)}`);
  return lines.join('\n');
}

/** "took 1.21 s: planning 12 ms, steps 840 ms, engine 358 ms" */
export function formatTiming(t: RunTiming): string {
  const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`);
  return `took ${ms(t.wallMs)}: planning ${ms(t.planningMs)}, steps ${ms(t.stepsMs)}, engine ${ms(t.engineMs)}`;
}

export function formatTable(rows: string[][]): string {
  return table(rows);
}

/** A run (job invocation or replication) for a person. */
export function formatRun(r: RunView): string {
  if (r.kind === 'replication') {
    return formatReport({ id: r.id, state: r.state, problem: r.problem, sleepUntil: null, filesystems: r.filesystems, ...(r.timing ? { timing: r.timing } : {}) });
  }
  const head = [`invocation ${r.id} of job ${r.job}: ${r.state}`];
  if (r.snapshot) head.push(`  snapshot: ${r.snapshot}`);
  if (r.problem) head.push(`  problem: ${r.problem}`);
  for (const rep of r.replications) head.push(`  -> ${rep.receiver}`, formatRun(rep).replace(/^/gm, '    '));
  for (const p of r.prunings ?? []) {
    head.push(`  prune ${p.side} ${p.endpoint}: ${p.state}, destroyed ${p.destroyed}, kept ${p.kept}${p.problem ? `  problem: ${p.problem}` : ''}`);
  }
  return head.join('\n');
}

export function formatRuns(runs: RunView[]): string {
  return table([['RUN', 'KIND', 'STATE', 'BYTES', 'PROBLEM'], ...runs.map((r) => [r.id, r.kind, r.state, humanBytes(r.bytes), r.problem ?? ''])]);
}

/** Pure: a job's send options as the flags that set them. */
export function describeSendOptions(o: JobSendOptions): string {
  const parts = [
    ...(o.raw ? ['--raw'] : []), ...(o.compressed ? ['--compressed'] : []), ...(o.largeBlocks ? ['--large-blocks'] : []),
    ...(o.properties ? ['--properties'] : []), ...(o.allowDecryptedSend ? ['--allow-decrypted-send'] : []),
    ...(o.receiveSet ?? []).map((kv) => `--receive-set ${kv}`), ...(o.receiveExclude ?? []).map((p) => `--receive-exclude ${p}`),
    ...(o.bandwidthLimit ? [`--bandwidth-limit ${formatByteRate(o.bandwidthLimit)}`] : []),
  ];
  return parts.join(' ');
}

export function formatJob(j: JobView): string {
  const s = j.spec;
  const lines = [
    `job ${s.name}`,
    `  sender:    ${s.sender}`,
    ...s.receivers.map((r, i) => `  ${i === 0 ? 'receivers:' : '          '} ${r}`),
    `  schedule:  ${describeSchedule(s.schedule)}${j.nextRunAt ? ` (next ${j.nextRunAt})` : ''}`,
    `  snapshot:  ${s.snapshotPrefix ? `${s.snapshotPrefix}_<UTC time> before each run` : 'none'}`,
    `  initial:   ${s.initial}; concurrency ${s.concurrency}${s.batch ? '; batch' : ''}`,
  ];
  if (s.filesystems) lines.push(`  filesystems: ${s.filesystems}`);
  if (s.includeSnapshots) lines.push(`  include snapshots: ${s.includeSnapshots}`);
  if (s.excludeSnapshots) lines.push(`  exclude snapshots: ${s.excludeSnapshots}`);
  if (s.send) lines.push(`  send:      ${describeSendOptions(s.send)}`);
  lines.push(`  last run:  ${j.lastRun ?? 'none yet'}`);
  return lines.join('\n');
}

export function formatJobs(jobs: JobView[]): string {
  return table([['JOB', 'SENDER', 'RECEIVERS', 'SCHEDULE', 'LAST RUN'], ...jobs.map((j) => [j.spec.name, j.spec.sender, String(j.spec.receivers.length), describeSchedule(j.spec.schedule), j.lastRun ?? '-'])]);
}

export function formatUnhealthy(targets: TargetView[], now = Date.now()): string {
  const bad = targets.filter((t) => !t.healthy);
  if (!bad.length) return '';
  const rows = [['TARGET', 'UNHEALTHY SINCE', 'FOR', 'FAILURES', 'LAST ERROR']];
  for (const t of bad) rows.push([t.target, t.since, formatDuration((now - Date.parse(t.since)) / 1000), String(t.failures), t.lastError ?? '']);
  return `unhealthy targets (work for them waits until a health check finds them back):\n${table(rows).replace(/^/gm, '  ')}`;
}
