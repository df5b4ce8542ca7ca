import type { InitialReplicationPolicy } from '../../machines/replication.js';
import type { RetryPolicy } from '../../machines/retry.js';
import { CronExpressionParser } from 'cron-parser';
import { InvalidArgumentError, fieldOf, quote, truncate } from '../errors/index.js';
import { PROBLEM_CHARS } from '../errors/bounded.js';
import { snapshotRegExp } from '../replication/planner.js';
import { DEFAULT_RETRY } from '../replication/runs.js';
import { assertSameKind, parseEndpoint } from '../storage/endpoint.js';
import type { RetentionPolicy } from '../retention/rules.js';
import { retentionOf } from './retention-spec.js';
import { checkSendOptions, type SendOptionsInput } from '../replication/send-options.js';
import type { JobSendOptions } from '../../machines/send-options.js';
import { DEFAULT_REPLICATION_CONCURRENCY } from '../../machines/replication-defaults.js';

/** The storage kind of an endpoint, or undefined when it does not parse (endpointProblems says why). */
function endpointKind(endpoint: string): 'zfs' | 'btrfs' | 'dir' | undefined {
  try {
    return parseEndpoint(endpoint).kind;
  } catch {
    return undefined;
  }
}

/** A job as ferry stores it: what to replicate from one sender to every receiver, and when. */
export interface JobSpec {
  name: string;
  sender: string;
  receivers: string[];
  filesystems?: string;
  includeSnapshots?: string;
  excludeSnapshots?: string;
  initial: InitialReplicationPolicy;
  concurrency: number;
  batch: boolean;
  /** take `<prefix>_<UTC time>` on the sender before each invocation; absent = no snapshot */
  snapshotPrefix?: string;
  /** absent: the job runs only when asked (run now, signal wakeup) */
  schedule?: JobSchedule;
  retry: RetryPolicy;
  /** keep rules per side (docs/retention.md); absent, or a side without rules: nothing is pruned there */
  retention?: RetentionPolicy;
  /** zfs send/receive flags and the bandwidth limit of every step (docs/send-options.md); absent = none */
  send?: JobSendOptions;
}

export type JobSchedule = { everyMs: number; timezone?: string } | { cron: string; timezone?: string };

/** What a caller may leave out; `validateJobSpec` fills the defaults. */
export type JobSpecInput = Partial<Omit<JobSpec, 'retry' | 'retention' | 'send'>> & { retry?: Partial<RetryPolicy>; retention?: unknown; send?: SendOptionsInput };

const JOB_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Why `value` is not a job name, or null when it is (names are Redis keys and BullMQ scheduler ids). */
export function jobNameProblem(value: unknown): string | null {
  if (typeof value === 'string' && JOB_NAME.test(value)) return null;
  return `${quote(value ?? '')} is not a job name: use 1 to 64 letters, digits, '_' or '-'`;
}
const SNAPSHOT_PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;
const MIN_EVERY_MS = 1000;
const MAX_RECEIVERS = 32;
const POLICIES: readonly string[] = ['most_recent', 'all', 'fail'];

/** One thing wrong with a spec: the field it is about (as the gRPC message spells it) and why. */
export interface SpecProblem {
  /** name, sender, receivers[1], schedule.cron, retry.max_ms... */
  field: string;
  message: string;
}

/** What checking a spec found: the spec with its defaults when nothing is wrong, else every problem. */
export type SpecCheck = { spec: JobSpec; problems: [] } | { spec: null; problems: SpecProblem[] };

/** Runs a check that throws InvalidArgumentError; its message becomes a problem of `field`. */
function problemOf(field: string, check: () => unknown): SpecProblem | null {
  try {
    check();
    return null;
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    // the error's own field when it names a deeper one (retention.sender[1].grid)
    const own = fieldOf(err);
    if (!own || !own.startsWith(field)) return { field, message: err.message };
    return { field: own, message: err.message.startsWith(`${own}: `) ? err.message.slice(own.length + 2) : err.message };
  }
}

/** The sender and every receiver: valid endpoints, one storage kind, no receiver equal to the sender. */
function endpointProblems(sender: string | undefined, receivers: string[]): SpecProblem[] {
  const out: SpecProblem[] = [];
  let from: ReturnType<typeof parseEndpoint> | null = null;
  if (!sender) out.push({ field: 'sender', message: 'required: the endpoint to replicate from' });
  else {
    const p = problemOf('sender', () => (from = parseEndpoint(sender)));
    if (p) out.push(p);
  }
  if (!receivers.length) out.push({ field: 'receivers', message: 'at least one receiver is required' });
  if (receivers.length > MAX_RECEIVERS) out.push({ field: 'receivers', message: `at most ${MAX_RECEIVERS} receivers, not ${receivers.length}` });
  receivers.forEach((receiver, i) => {
    const field = `receivers[${i}]`;
    let to: ReturnType<typeof parseEndpoint> | null = null;
    const p = problemOf(field, () => (to = parseEndpoint(receiver)));
    if (p) return out.push(p);
    if (!from || !to) return;
    const [s, r]: ReturnType<typeof parseEndpoint>[] = [from, to];
    const kind = problemOf(field, () => assertSameKind({ kind: s.kind, endpoint: sender! }, { kind: r.kind, endpoint: receiver }));
    if (kind) out.push(kind);
    else if (s.location === r.location) out.push({ field, message: `${quote(receiver)} is the sender itself` });
  });
  return out;
}

/** A whole number from 1 to `max`, or undefined (the default applies); else a problem. */
function countProblem(field: string, value: unknown, max: number): SpecProblem | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= max) return null;
  return { field, message: `must be a whole number from 1 to ${max}, not ${quote(value)}` };
}

/** Pure: the cron pattern as BullMQ's job scheduler reads it (cron-parser), or why not. */
function cronProblem(pattern: string, timezone: string | undefined): string | null {
  try {
    // BullMQ parses with cron-parser too; `next()` also throws for a pattern that never fires (31 February)
    CronExpressionParser.parse(pattern, timezone ? { tz: timezone } : {}).next();
    return null;
  } catch (err) {
    return `${quote(pattern)} is not a cron pattern (${(err as Error).message}); use 5 or 6 fields, e.g. "*/15 * * * *"`;
  }
}

function scheduleProblems(s: Partial<{ everyMs: number; cron: string; timezone: string }>): { schedule?: JobSchedule; problems: SpecProblem[] } {
  const problems: SpecProblem[] = [];
  const tz = s.timezone || undefined;
  let tzOk = true;
  if (tz) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      tzOk = false;
      problems.push({ field: 'schedule.timezone', message: `${quote(tz)} is not an IANA time zone` });
    }
  }
  if (s.cron && s.everyMs) problems.push({ field: 'schedule', message: 'give every_ms or cron, not both' });
  if (s.cron) {
    const cron = s.cron.trim();
    const problem = cronProblem(cron, tzOk ? tz : undefined);
    if (problem) problems.push({ field: 'schedule.cron', message: problem });
    return { schedule: { cron, ...(tz ? { timezone: tz } : {}) }, problems };
  }
  if (tz) problems.push({ field: 'schedule.timezone', message: 'applies to a cron schedule only' });
  if (s.everyMs) {
    const every = Number(s.everyMs);
    if (!Number.isSafeInteger(every) || every < MIN_EVERY_MS) problems.push({ field: 'schedule.every_ms', message: `must be a whole number of milliseconds, at least ${MIN_EVERY_MS}` });
    return { schedule: { everyMs: every }, problems };
  }
  return { problems };
}

/**
 * Pure: checks a whole job before anything is stored or scheduled, and returns every problem with
 * the field it is about (as the gRPC message spells it: name, sender, receivers[1], schedule.cron),
 * or the spec with its defaults. The CLI, the gRPC CreateJob and the config file use this one check.
 * Zero and empty values mean "the default", as in the gRPC messages.
 */
export function checkJobSpec(raw: JobSpecInput): SpecCheck {
  const problems: SpecProblem[] = [];
  const add = (p: SpecProblem | null) => { if (p) problems.push(p); };
  const name = raw.name ?? '';
  const nameProblem = jobNameProblem(name);
  if (nameProblem !== null) add({ field: 'name', message: nameProblem });
  const receivers = [...new Set(raw.receivers ?? [])];
  problems.push(...endpointProblems(raw.sender, receivers));
  const initial = raw.initial || 'most_recent';
  if (!POLICIES.includes(initial)) add({ field: 'initial', message: `must be one of ${POLICIES.join(', ')}, not ${quote(initial)}` });
  add(countProblem('concurrency', raw.concurrency || undefined, 1000));
  add(problemOf('include_snapshots', () => snapshotRegExp('include_snapshots', raw.includeSnapshots || undefined)));
  add(problemOf('exclude_snapshots', () => snapshotRegExp('exclude_snapshots', raw.excludeSnapshots || undefined)));
  const retry = { ...DEFAULT_RETRY, ...stripZeros(raw.retry) };
  add(countProblem('retry.initial_ms', retry.initialMs, 2 ** 31));
  add(countProblem('retry.max_ms', retry.maxMs, 2 ** 31));
  add(countProblem('retry.max_attempts', retry.maxAttempts, 1_000_000));
  if (retry.maxMs < retry.initialMs) add({ field: 'retry.max_ms', message: `${retry.maxMs} is below retry.initial_ms ${retry.initialMs}` });
  if (raw.snapshotPrefix && !SNAPSHOT_PREFIX.test(raw.snapshotPrefix)) {
    add({ field: 'snapshot_prefix', message: `${quote(raw.snapshotPrefix)}: use 1 to 64 letters, digits, '_', '.', ':' or '-'` });
  }
  let send: JobSendOptions | undefined;
  const kind = raw.sender ? endpointKind(raw.sender) : undefined;
  add(problemOf('send', () => (send = checkSendOptions(raw.send, kind))));
  let retention: RetentionPolicy | undefined;
  add(problemOf('retention', () => (retention = retentionOf(raw.retention))));
  const sched = raw.schedule ? scheduleProblems(raw.schedule as Partial<{ everyMs: number; cron: string; timezone: string }>) : { problems: [] };
  problems.push(...sched.problems);
  if (problems.length) return { spec: null, problems };
  const spec: JobSpec = {
    name, sender: raw.sender!, receivers, initial: initial as JobSpec['initial'], concurrency: raw.concurrency || DEFAULT_REPLICATION_CONCURRENCY, batch: !!raw.batch, retry,
    ...(raw.filesystems ? { filesystems: raw.filesystems } : {}),
    ...(raw.includeSnapshots ? { includeSnapshots: raw.includeSnapshots } : {}),
    ...(raw.excludeSnapshots ? { excludeSnapshots: raw.excludeSnapshots } : {}),
    ...(raw.snapshotPrefix ? { snapshotPrefix: raw.snapshotPrefix } : {}),
    ...(sched.schedule ? { schedule: sched.schedule } : {}),
    ...(retention ? { retention } : {}),
    ...(send ? { send } : {}),
  };
  return { spec, problems: [] };
}

/**
 * Checks a job (checkJobSpec) and returns it with its defaults; throws one InvalidArgumentError
 * naming every problem (`field: problem; field: problem`), with the first field in `details.field`
 * and all of them in `details.problems`.
 */
export function validateJobSpec(raw: JobSpecInput): JobSpec {
  const checked = checkJobSpec(raw);
  if (checked.spec) return checked.spec;
  const [first] = checked.problems;
  const message = checked.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  throw new InvalidArgumentError(truncate(message, PROBLEM_CHARS), { code: 'INVALID_ARGUMENT', details: { field: first.field, problems: checked.problems } });
}

function stripZeros(r: Partial<RetryPolicy> | undefined): Partial<RetryPolicy> | undefined {
  if (!r) return undefined;
  const out: Partial<RetryPolicy> = {};
  if (r.initialMs) out.initialMs = r.initialMs;
  if (r.maxMs) out.maxMs = r.maxMs;
  if (r.maxAttempts) out.maxAttempts = r.maxAttempts;
  return out;
}
