import type { PruningSide } from '../../machines/pruning.js';
import { formatReplicationDryRun, planPruningDryRun, planReplicationDryRun, type PruningDryRun, type ReplicationDryRun } from '../replication/dry-run.js';
import { snapshotName } from '../storage/snapshots.js';
import { DEFAULT_PREFIX } from './invoke.js';
import { formatPruning } from './prune.js';
import type { JobSpec } from './spec.js';

/** What an invocation of a job would do now: nothing of it is done. */
export interface JobDryRun {
  job: string;
  /** the snapshot the invocation would take first (not in the replication plans: it does not exist yet), or null */
  snapshot: string | null;
  replications: ReplicationDryRun[];
  /** each side's pruning plan as the snapshots stand now (before the run's own snapshot and sends) */
  prunings: PruningDryRun[];
}

/** `ferry job run JOB --dry-run`: plans every receiver's replication and every side's pruning; takes, sends and destroys nothing. */
export async function planJobDryRun(spec: JobSpec, at = new Date()): Promise<JobDryRun> {
  const replications = await Promise.all(spec.receivers.map((receiver) => planReplicationDryRun({
    sender: spec.sender, receiver, initial: spec.initial, concurrency: spec.concurrency, filesystems: spec.filesystems,
    includeSnapshots: spec.includeSnapshots, excludeSnapshots: spec.excludeSnapshots, batch: spec.batch, send: spec.send, retry: spec.retry,
  })));
  const sides: Array<{ side: PruningSide; endpoint: string; rules: unknown[] }> = [];
  if (spec.retention?.sender.length) sides.push({ side: 'sender', endpoint: spec.sender, rules: spec.retention.sender });
  if (spec.retention?.receivers.length) for (const endpoint of spec.receivers) sides.push({ side: 'receiver', endpoint, rules: spec.retention.receivers });
  const prunings = await Promise.all(sides.map((s) => planPruningDryRun({
    job: spec.name, side: s.side, endpoint: s.endpoint, sender: spec.sender, receivers: spec.receivers, rules: s.rules,
    prefix: spec.snapshotPrefix ?? DEFAULT_PREFIX, ...(spec.filesystems ? { filesystems: spec.filesystems } : {}),
  })));
  return { job: spec.name, snapshot: spec.snapshotPrefix ? snapshotName(spec.snapshotPrefix, at) : null, replications, prunings };
}

/** Pure: a job dry run for a person. */
export function formatJobDryRun(d: JobDryRun): string {
  const lines = [`dry run of job ${d.job}: nothing is taken, sent or destroyed`];
  if (d.snapshot) lines.push(`would first take ${d.snapshot} on the sender, and send it too`);
  for (const r of d.replications) lines.push(formatReplicationDryRun(r));
  for (const p of d.prunings) lines.push(formatPruning({ ...p, state: 'planned now', dryRun: true, problem: null, destroyed: p.destroy, kept: p.keep }));
  return lines.join('\n');
}
