import type { JobInput } from '../../machines/job.js';
import type { Engine } from '../engine/engine.js';
import { snapshotName } from '../storage/snapshots.js';
import { compactUtcStampMs } from '../util/time.js';
import { noSuchJob } from './errors.js';
import type { JobStore, StoredJob } from './store.js';

export interface Invocation {
  /** the invocation's machine id: the one started, or the active one */
  runId: string;
  /** false when the previous invocation was still active (invocations of a job never overlap) */
  started: boolean;
}

/** `<job>.<UTC time to the millisecond>`: sorts by time, and the same firing gives the same id. */
export function invocationId(job: string, at: number): string {
  return `${job}.${compactUtcStampMs(new Date(at))}`;
}

/** the prefix of `ferry snapshot`: a job without a snapshot prefix prunes the snapshots it names so */
export const DEFAULT_PREFIX = 'ferry';

export interface InvocationOptions {
  /** `prune`: an on-demand pruning (`ferry prune`): no snapshot, no replication. @defaultValue 'run' */
  mode?: 'run' | 'prune';
  /** with `prune`: plan and report, destroy nothing */
  dryRun?: boolean;
}

/** The job's invocation that is still running, if any. */
export async function activeInvocation(engine: Engine, jobs: JobStore, name: string): Promise<string | null> {
  const [latest] = await jobs.runs(name, 1);
  if (!latest) return null;
  const rec = await engine.get(latest);
  return rec && rec.status === 'active' ? latest : null;
}

/**
 * Starts an invocation of a job: a job machine that snapshots (if asked) and replicates to every
 * receiver. Idempotent per firing time (a retried firing finds its machine). An invocation still
 * running is never doubled: the call returns it instead, as zrepl does not overlap runs of a job.
 * `known`: the job as the caller just read it, so it is not read again.
 */
export async function invokeJob(engine: Engine, jobs: JobStore, name: string, at: number, known?: StoredJob, opts: InvocationOptions = {}): Promise<Invocation> {
  const job = known ?? (await jobs.get(name));
  if (!job) throw noSuchJob(name);
  const runId = invocationId(name, at);
  const active = await activeInvocation(engine, jobs, name);
  if (active && active !== runId) return { runId: active, started: false };
  const s = job.spec;
  const pruneOnly = opts.mode === 'prune';
  const input: JobInput = {
    runId, job: name, sender: s.sender, receivers: s.receivers,
    ...(s.retention ? { pruning: { sender: s.retention.sender, receivers: s.retention.receivers, prefix: s.snapshotPrefix ?? DEFAULT_PREFIX, ...(opts.dryRun ? { dryRun: true } : {}) } } : {}),
    ...(pruneOnly ? { replicate: false } : {}),
    snapshot: !pruneOnly && s.snapshotPrefix ? { name: snapshotName(s.snapshotPrefix, new Date(at)), ...(s.filesystems ? { filesystems: s.filesystems } : {}) } : null,
    replication: {
      initial: s.initial, concurrency: s.concurrency, batch: s.batch, retry: s.retry,
      ...(s.filesystems ? { filesystems: s.filesystems } : {}),
      ...(s.includeSnapshots ? { includeSnapshots: s.includeSnapshots } : {}),
      ...(s.excludeSnapshots ? { excludeSnapshots: s.excludeSnapshots } : {}),
      ...(s.send ? { send: s.send } : {}),
    },
  };
  // the machine first, so every run the job lists exists (`job show` lastRun, then `status RUN`); a crash
  // between the two leaves a run the job does not list, which the retried firing (same id) records
  const started = await engine.start('job', runId, input);
  await jobs.addRun(name, runId, at);
  return { runId, started };
}
