import type { PrunePlan, PruningSide } from '../../machines/pruning.js';
import { openEndpoint } from '../storage/endpoint.js';
import { planReplication } from './planner.js';
import { planPrune } from './pruning-effects.js';
import { validateReplicateOptions, type ReplicateOptions } from './runs.js';

export interface DryRunStep {
  /** the incremental source, or null for a full send */
  from: string | null;
  to: string;
  /** the stream would carry every snapshot between from and to (zfs send -I) */
  intermediates: boolean;
}

export interface DryRunFilesystem {
  name: string;
  steps: DryRunStep[];
  /** why it would not replicate (a conflict), else null */
  problem: string | null;
}

/** What one replication run would send, found as a real run plans it; nothing is sent or taken. */
export interface ReplicationDryRun {
  sender: string;
  receiver: string;
  filesystems: DryRunFilesystem[];
}

/**
 * Plans a replication exactly as a run's Planning does (same checks, same planner), and returns its
 * steps without starting anything. Sizes are not known: the drivers tell a stream's size only once
 * a send starts, which a dry run never does.
 */
export async function planReplicationDryRun(o: ReplicateOptions): Promise<ReplicationDryRun> {
  const input = validateReplicateOptions(o);
  const plan = await planReplication({
    sender: openEndpoint(input.sender), receiver: openEndpoint(input.receiver), initial: input.initial,
    filesystems: input.filesystems, includeSnapshots: input.includeSnapshots, excludeSnapshots: input.excludeSnapshots, batch: input.batch, send: input.send,
  });
  return {
    sender: input.sender,
    receiver: input.receiver,
    filesystems: plan.filesystems.map((f) => ({
      name: f.name, problem: f.problem ?? null,
      steps: f.steps.map((s) => ({ from: s.from?.name ?? null, to: s.to.name, intermediates: !!s.intermediates })),
    })),
  };
}

/** Pure: a replication dry run for a person. */
export function formatReplicationDryRun(p: ReplicationDryRun): string {
  const lines = [`dry run: ${p.sender} -> ${p.receiver} (nothing sent; sizes are known only once a send starts)`];
  for (const f of p.filesystems) {
    if (f.problem) lines.push(`  ${f.name}: would not replicate: ${f.problem}`);
    else if (!f.steps.length) lines.push(`  ${f.name}: up to date`);
    else {
      lines.push(`  ${f.name}: ${f.steps.length} step${f.steps.length === 1 ? '' : 's'}`);
      for (const s of f.steps) lines.push(`    ${s.from === null ? 'full' : `incremental from @${s.from}`} to @${s.to}${s.intermediates ? ' (with the snapshots between)' : ''}`);
    }
  }
  return lines.join('\n');
}

/** One side's pruning plan in a dry run. */
export interface PruningDryRun extends PrunePlan {
  side: PruningSide;
  endpoint: string;
}

/** The pruning plan of one side as it stands now (`planPrune`, which destroys nothing). */
export async function planPruningDryRun(input: Parameters<typeof planPrune>[0]): Promise<PruningDryRun> {
  return { side: input.side, endpoint: input.endpoint, ...(await planPrune({ ...input, dryRun: true }, Date.now())) };
}
