import type { JobContext } from '../../machines/job.js';
import { destroyedSoFar, keptSoFar, type KeptSnapshot, type PrunedSnapshot, type PruningContext, type PruningSide } from '../../machines/pruning.js';
import type { Engine } from '../engine/engine.js';
import { InvalidArgumentError, TemporaryError } from '../errors/index.js';
import { stateName } from '../util/state-name.js';
import { noSuchJob } from './errors.js';
import { invokeJob } from './invoke.js';
import type { JobStore } from './store.js';

/** One side's pruning, as `ferry prune` reports it. */
export interface PruningReport {
  runId: string;
  side: PruningSide;
  endpoint: string;
  state: string;
  dryRun: boolean;
  problem: string | null;
  destroyed: PrunedSnapshot[];
  kept: KeptSnapshot[];
}

export interface PruneReport {
  /** the invocation's machine id */
  runId: string;
  job: string;
  state: string;
  problem: string | null;
  prunings: PruningReport[];
}

/**
 * Starts an on-demand pruning of a job (`ferry prune`): an invocation of the job machine that
 * neither snapshots nor replicates. An invocation of the job still running is refused (JOB_BUSY,
 * temporary) rather than overlapped: pruning then could destroy what its steps are about to use.
 */
export async function startPruning(engine: Engine, jobs: JobStore, name: string, opts: { dryRun?: boolean; at?: number } = {}): Promise<string> {
  const job = await jobs.get(name);
  if (!job) throw noSuchJob(name);
  if (!job.spec.retention) {
    throw new InvalidArgumentError(`job ${JSON.stringify(name)} has no retention policy: nothing to prune (create it with --keep-sender / --keep-receivers)`, { code: 'NO_RETENTION' });
  }
  const r = await invokeJob(engine, jobs, name, opts.at ?? Date.now(), job, { mode: 'prune', dryRun: !!opts.dryRun });
  if (!r.started) throw new TemporaryError(`job ${name} is running (${r.runId}): prune once it has finished`, { code: 'JOB_BUSY', details: { runId: r.runId } });
  return r.runId;
}

/** The report of a job invocation's prunings (null when there is no such invocation), read from each pruning machine. */
export async function pruneReport(engine: Engine, runId: string): Promise<PruneReport | null> {
  const s = await engine.snapshotOf(runId);
  if (!s || s.record.kind !== 'job') return null;
  const c = s.context as JobContext;
  const prunings = await Promise.all((c.prunings ?? []).map(async (p): Promise<PruningReport> => {
    const child = await engine.snapshotOf(p.runId);
    const pc = child?.context as PruningContext | undefined;
    return {
      runId: p.runId, side: p.side, endpoint: p.endpoint, state: child ? stateName(child.value) : p.state,
      dryRun: pc?.dryRun ?? !!c.pruning?.dryRun, problem: pc ? pc.problem : p.problem,
      destroyed: pc ? destroyedSoFar(pc) : [], kept: pc?.plan ? keptSoFar(pc) : [],
    };
  }));
  return { runId, job: c.job, state: stateName(s.value), problem: c.problem, prunings };
}

/** Pure: the report as text: per side, what was (or would be) destroyed and what was kept, with why. */
export function formatPruneReport(r: PruneReport): string {
  return [`${r.runId}  ${r.state}${r.problem ? `  ${r.problem}` : ''}`, ...r.prunings.map(formatPruning)].join('\n');
}

/** Pure: one side's pruning: what was (or would be) destroyed and what was kept, with why. */
export function formatPruning(p: Pick<PruningReport, 'side' | 'endpoint' | 'state' | 'dryRun' | 'problem' | 'destroyed' | 'kept'>): string {
  const verb = p.dryRun ? 'would destroy' : 'destroyed';
  const lines = [`${p.side} ${p.endpoint}  ${p.state}${p.dryRun ? ' (dry run)' : ''}: ${verb} ${p.destroyed.length}, kept ${p.kept.length}${p.problem ? `  ${p.problem}` : ''}`];
  for (const d of p.destroyed) lines.push(`  ${verb} ${d.filesystem}@${d.name}: ${d.reason}`);
  for (const k of p.kept) lines.push(`  keep ${k.filesystem}@${k.name}: ${k.reasons.join('; ')}`);
  return lines.join('\n');
}
