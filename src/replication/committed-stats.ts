import type { AnyMachineSnapshot } from 'xstate';
import type { FilesystemContext } from '../../machines/filesystem.js';
import type { Version } from '../../machines/version.js';
import type { StatChange } from '../engine/types.js';

/**
 * The durable numbers replication commits (the engine writes them atomically with the commit, see
 * `MachineDefinition.stats`); src/observability/committed-metrics.ts exports them at scrape time.
 */
export const STAT = {
  /** bytes of completed steps, by `filesystem` (a counter) */
  replicatedBytes: 'replicated_bytes',
  /** seconds the receiver's newest version is behind the sender's, by `ferry_job`, `receiver`, `filesystem` */
  replicationLag: 'replication_lag',
  /** when a job invocation, or a filesystem of a run, last completed (seconds since epoch) */
  lastSuccess: 'last_success',
} as const;

/** `ferry_job` (not `job`, which Prometheus sets to the scrape job) when the run belongs to a job */
export function jobLabel(job: string | undefined): Record<string, string> {
  return job === undefined ? {} : { ferry_job: job };
}

function creationMs(v: Version | null | undefined): number | null {
  const ms = v?.creation ? Date.parse(v.creation) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Pure: the replication lag of a filesystem in seconds: the creation time of the newest version the
 * sender has to send (the last step's `to`) minus that of the newest version the receiver has (the
 * last completed step's `to`, or before any, the first step's `from`). 0 with nothing to send; null
 * when it is not known (a planning conflict, an empty receiver before its first step, a version
 * without a creation time).
 */
export function replicationLagSeconds(c: FilesystemContext): number | null {
  if (c.steps.length === 0) return c.problem === null ? 0 : null;
  const senderNewest = creationMs(c.steps[c.steps.length - 1].to);
  const receiverNewest = creationMs(c.stepsDone > 0 ? c.steps[c.stepsDone - 1].to : c.steps[0].from);
  if (senderNewest === null || receiverNewest === null) return null;
  return Math.max(0, senderNewest - receiverNewest) / 1000;
}

/** Pure: what one event of a filesystem machine changes: bytes, lag (when a step completed), last success. */
export function filesystemStats(before: AnyMachineSnapshot | null, after: AnyMachineSnapshot, at: number): StatChange[] {
  const prev = before?.context as FilesystemContext | undefined;
  const next = after.context as FilesystemContext;
  const out: StatChange[] = [];
  const where = { ...jobLabel(next.job), receiver: next.receiver, filesystem: next.name };
  const bytes = next.bytes - (prev?.bytes ?? 0);
  if (bytes > 0) out.push({ op: 'add', name: STAT.replicatedBytes, labels: { filesystem: next.name }, value: bytes });
  if (!prev || prev.stepsDone !== next.stepsDone) {
    const lag = replicationLagSeconds(next);
    if (lag !== null) out.push({ op: 'set', name: STAT.replicationLag, labels: where, value: lag });
  }
  if (after.value === 'Completed' && before?.value !== 'Completed') out.push({ op: 'set', name: STAT.lastSuccess, labels: where, value: at / 1000 });
  return out;
}
