import type { InitialReplicationPolicy } from '../../machines/replication.js';
import type { RetryPolicy } from '../../machines/retry.js';
import { fieldOf, invalidField, quote } from '../errors/index.js';
import { validateReplicateOptions } from '../replication/runs.js';
import type { RetentionPolicy } from '../retention/rules.js';
import { retentionOf } from './retention-spec.js';

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
}

export type JobSchedule = { everyMs: number; timezone?: string } | { cron: string; timezone?: string };

/** What a caller may leave out; `validateJobSpec` fills the defaults. */
export type JobSpecInput = Partial<Omit<JobSpec, 'retry' | 'retention'>> & { retry?: Partial<RetryPolicy>; retention?: unknown };

const JOB_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Why `value` is not a job name, or null when it is (names are Redis keys and BullMQ scheduler ids). */
export function jobNameProblem(value: unknown): string | null {
  if (typeof value === 'string' && JOB_NAME.test(value)) return null;
  return `${quote(value ?? '')} is not a job name: use 1 to 64 letters, digits, '_' or '-'`;
}
const SNAPSHOT_PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;
const MIN_EVERY_MS = 1000;

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
  const nameProblem = jobNameProblem(name);
  if (nameProblem !== null) throw invalidField('name', nameProblem);
  if (!raw.sender) throw invalidField('sender', 'required: the endpoint to replicate from');
  const receivers = [...new Set(raw.receivers ?? [])];
  if (!receivers.length) throw invalidField('receivers', 'at least one receiver is required');
  if (receivers.length > 32) throw invalidField('receivers', `at most 32 receivers, not ${receivers.length}`);
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
      // the replicate checks name CLI flags in their messages; the field they name becomes the job's field
      const field = fieldOf(err) ?? 'spec';
      throw invalidField(field === 'receiver' ? `receivers[${i}]` : field, (err as Error).message);
    }
  });
  const base = first!;
  const spec: JobSpec = {
    name, sender: raw.sender, receivers, initial: base.initial, concurrency: base.concurrency, batch: !!raw.batch, retry: base.retry,
    ...(raw.filesystems ? { filesystems: raw.filesystems } : {}),
    ...(raw.includeSnapshots ? { includeSnapshots: raw.includeSnapshots } : {}),
    ...(raw.excludeSnapshots ? { excludeSnapshots: raw.excludeSnapshots } : {}),
  };
  const retention = retentionOf(raw.retention);
  if (retention) spec.retention = retention;
  if (raw.snapshotPrefix) {
    if (!SNAPSHOT_PREFIX.test(raw.snapshotPrefix)) throw invalidField('snapshot_prefix', `${quote(raw.snapshotPrefix)}: use 1 to 64 letters, digits, '_', '.', ':' or '-'`);
    spec.snapshotPrefix = raw.snapshotPrefix;
  }
  const s = raw.schedule;
  if (s) {
    const tz = s.timezone || undefined;
    if (tz) {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
      } catch {
        throw invalidField('schedule.timezone', `${quote(tz)} is not an IANA time zone`);
      }
    }
    if ('cron' in s && s.cron) {
      if (!looksLikeCron(s.cron)) throw invalidField('schedule.cron', `${quote(s.cron)} is not a cron pattern (5 or 6 fields, e.g. "*/15 * * * *")`);
      spec.schedule = { cron: s.cron.trim(), ...(tz ? { timezone: tz } : {}) };
    } else if ('everyMs' in s && s.everyMs) {
      const every = Number(s.everyMs);
      if (!Number.isSafeInteger(every) || every < MIN_EVERY_MS) throw invalidField('schedule.every_ms', `must be a whole number of milliseconds, at least ${MIN_EVERY_MS}`);
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
