import type { PrunePlan, PruningSide } from '../../machines/pruning.js';
import type { Step } from '../../machines/filesystem.js';
import { openEndpoint } from '../storage/endpoint.js';
import { humanBytes } from '../util/bytes.js';
import { planReplication } from './planner.js';
import { planPrune } from './pruning-effects.js';
import { validateReplicateOptions, type ReplicateOptions } from './runs.js';

export interface DryRunStep {
  /** the incremental source, or null for a full send */
  from: string | null;
  to: string;
  /** the stream would carry every snapshot between from and to (zfs send -I) */
  intermediates: boolean;
  /** bytes the step would send, where the driver can tell without sending (zfs send -nP on OpenZFS, dir); else null */
  size: number | null;
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
 * steps without starting anything, each with its size where the sender's driver can tell without
 * sending (`estimateSend`: zfs send -n -P on OpenZFS with the job's flags, the dir driver from its
 * manifests); null where it cannot (zfs-fuse, btrfs, agents), or the sizing failed.
 */
export async function planReplicationDryRun(o: ReplicateOptions): Promise<ReplicationDryRun> {
  const input = validateReplicateOptions(o);
  const sender = openEndpoint(input.sender);
  const plan = await planReplication({
    sender, receiver: openEndpoint(input.receiver), initial: input.initial,
    filesystems: input.filesystems, includeSnapshots: input.includeSnapshots, excludeSnapshots: input.excludeSnapshots, batch: input.batch, send: input.send,
  });
  const flags = input.send;
  const sizeOf = async (fs: string, s: Step): Promise<number | null> => {
    if (!sender.estimateSend) return null;
    // one step's size failing (a snapshot gone meanwhile) leaves it unknown; the plan stands
    return (await sender.estimateSend(fs, s.from, s.to, { intermediates: s.intermediates, ...(flags ? { flags } : {}) }).catch(() => undefined)) ?? null;
  };
  const filesystems: DryRunFilesystem[] = [];
  for (const f of plan.filesystems) {
    const steps: DryRunStep[] = [];
    for (const s of f.steps) steps.push({ from: s.from?.name ?? null, to: s.to.name, intermediates: !!s.intermediates, size: await sizeOf(f.name, s) });
    filesystems.push({ name: f.name, problem: f.problem ?? null, steps });
  }
  return { sender: input.sender, receiver: input.receiver, filesystems };
}

/** Pure: a replication dry run for a person. */
export function formatReplicationDryRun(p: ReplicationDryRun): string {
  const lines = [`dry run: ${p.sender} -> ${p.receiver} (nothing sent)`];
  for (const f of p.filesystems) {
    if (f.problem) lines.push(`  ${f.name}: would not replicate: ${f.problem}`);
    else if (!f.steps.length) lines.push(`  ${f.name}: up to date`);
    else {
      lines.push(`  ${f.name}: ${f.steps.length} step${f.steps.length === 1 ? '' : 's'}`);
      for (const s of f.steps) {
        const size = s.size === null ? 'size unknown' : humanBytes(s.size);
        lines.push(`    ${s.from === null ? 'full' : `incremental from @${s.from}`} to @${s.to}${s.intermediates ? ' (with the snapshots between)' : ''}: ${size}`);
      }
      const sizes = f.steps.map((s) => s.size);
      if (f.steps.length > 1 && sizes.every((n) => n !== null)) lines.push(`    total ${humanBytes(sizes.reduce((a, b) => a! + b!, 0)!)}`);
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
