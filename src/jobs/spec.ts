import type { InitialReplicationPolicy } from '../../machines/replication.js';
import type { RetryPolicy } from '../../machines/retry.js';
import { InvalidArgumentError } from '../errors/index.js';
import { validateReplicateOptions } from '../replication/runs.js';

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
}

export type JobSchedule = { everyMs: number; timezone?: string } | { cron: string; timezone?: string };

/** What a caller may leave out; `validateJobSpec` fills the defaults. */
export type JobSpecInput = Partial<Omit<JobSpec, 'retry'>> & { retry?: Partial<RetryPolicy> };

const JOB_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SNAPSHOT_PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;
const MIN_EVERY_MS = 1000;

const bad = (field: string, problem: string) => new InvalidArgumentError(`${field}: ${problem}`, { code: 'INVALID_ARGUMENT', details: { field } });

/** Pure: a loose cron check (5 or 6 fields of cron characters); BullMQ's parser has the last word. */
function looksLikeCron(pattern: string): boolean {
  const fields = pattern.trim().split(/\s+/);
  return (fields.length === 5 || fields.length === 6) && fields.every((f) => /^[0-9A-Za-z*/,?#LW-]+$/.test(f));
}

/**
 * Checks a job before anything is stored or scheduled; every problem names its field (as the gRPC
 * message and the CLI flag spell it: name, sender, receivers...). Returns the spec with defaults.
 */
export function validateJobSpec(raw: JobSpecInput): JobSpec {
  const name = raw.name ?? '';
  if (!JOB_NAME.test(name)) throw bad('name', `${JSON.stringify(name)} is not a job name: use 1 to 64 letters, digits, '_' or '-'`);
  if (!raw.sender) throw bad('sender', 'required: the endpoint to replicate from');
  const receivers = [...new Set(raw.receivers ?? [])];
  if (!receivers.length) throw bad('receivers', 'at least one receiver is required');
  if (receivers.length > 32) throw bad('receivers', `at most 32 receivers, not ${receivers.length}`);
  let first: ReturnType<typeof validateReplicateOptions> | null = null;
  receivers.forEach((receiver, i) => {
    try {
      const input = validateReplicateOptions({
        sender: raw.sender!, receiver, initial: raw.initial || undefined, concurrency: raw.concurrency || undefined,
        filesystems: raw.filesystems || undefined, includeSnapshots: raw.includeSnapshots || undefined, excludeSnapshots: raw.excludeSnapshots || undefined,
        batch: !!raw.batch, retry: stripZeros(raw.retry), runId: 'validation',
      });
      first ??= input;
    } catch (err) {
      const m = (err as Error).message;
      // the replicate checks name CLI flags; point at the job's field instead when it is about the ends
      throw bad(/sender|receiver|endpoint/i.test(m) ? `receivers[${i}]` : fieldOf(m), m);
    }
  });
  const base = first!;
  const spec: JobSpec = {
    name, sender: raw.sender, receivers, initial: base.initial, concurrency: base.concurrency, batch: !!raw.batch, retry: base.retry,
    ...(raw.filesystems ? { filesystems: raw.filesystems } : {}),
    ...(raw.includeSnapshots ? { includeSnapshots: raw.includeSnapshots } : {}),
    ...(raw.excludeSnapshots ? { excludeSnapshots: raw.excludeSnapshots } : {}),
  };
  if (raw.snapshotPrefix) {
    if (!SNAPSHOT_PREFIX.test(raw.snapshotPrefix)) throw bad('snapshot_prefix', `${JSON.stringify(raw.snapshotPrefix)}: use 1 to 64 letters, digits, '_', '.', ':' or '-'`);
    spec.snapshotPrefix = raw.snapshotPrefix;
  }
  const s = raw.schedule;
  if (s) {
    const tz = s.timezone || undefined;
    if (tz) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
      } catch {
        throw bad('schedule.timezone', `${JSON.stringify(tz)} is not an IANA time zone`);
      }
    }
    if ('cron' in s && s.cron) {
      if (!looksLikeCron(s.cron)) throw bad('schedule.cron', `${JSON.stringify(s.cron)} is not a cron pattern (5 or 6 fields, e.g. "*/15 * * * *")`);
      spec.schedule = { cron: s.cron.trim(), ...(tz ? { timezone: tz } : {}) };
    } else if ('everyMs' in s && s.everyMs) {
      const every = Number(s.everyMs);
      if (!Number.isInteger(every) || every < MIN_EVERY_MS) throw bad('schedule.every_ms', `must be a whole number of milliseconds, at least ${MIN_EVERY_MS}`);
      spec.schedule = { everyMs: every };
    }
  }
  return spec;
}

function stripZeros(r: Partial<RetryPolicy> | undefined): Partial<RetryPolicy> | undefined {
  if (!r) return undefined;
  const out: Partial<RetryPolicy> = {};
  if (r.initialMs) out.initialMs = r.initialMs;
  if (r.maxMs) out.maxMs = r.maxMs;
  if (r.maxAttempts) out.maxAttempts = r.maxAttempts;
  return out;
}

function fieldOf(message: string): string {
  const m = /--([a-z-]+)/.exec(message);
  return m ? m[1].replace(/-/g, '_') : 'spec';
}

/** "10m", "1h30m", "45s", "500ms" or plain milliseconds, as milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(t))) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
    end = re.lastIndex;
  }
  if (!t || end !== t.length) throw new InvalidArgumentError(`${flag} ${JSON.stringify(text)}: use a duration like 30s, 10m, 1h30m or milliseconds`, { code: 'INVALID_ARGUMENT' });
  return total;
}

export function describeSchedule(s: JobSchedule | undefined): string {
  if (!s) return 'on demand';
  if ('everyMs' in s) return `every ${formatMs(s.everyMs)}`;
  return `cron "${s.cron}"${s.timezone ? ` (${s.timezone})` : ' (UTC)'}`;
}

function formatMs(ms: number): string {
  for (const [unit, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % n === 0) return `${ms / n}${unit}`;
  }
  return `${ms}ms`;
}
