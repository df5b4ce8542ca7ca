import type { AnyMachineSnapshot } from 'xstate';
import { filesystemMachine, filesystemMachineVersion, summarizeFilesystem, type FilesystemContext, type ReplicateStepInput } from '../../machines/filesystem.js';
import { pruningMachine, pruningMachineVersion, summarizePruning, type DestroySnapshotInput, type PrunePlanInput, type PruningContext } from '../../machines/pruning.js';
import { replicationMachine, replicationMachineVersion, summarizeReplication, type PlanInput, type ReplicationContext } from '../../machines/replication.js';
import type { Registry } from '../engine/types.js';
import type { TargetHealth } from '../health/target-health.js';
import { filesystemStats } from './committed-stats.js';
import type { ReplicationMetrics } from './metrics.js';
import type { EffectTiming } from '../../machines/timing.js';

export interface ReplicationRegistryOptions {
  metrics: ReplicationMetrics;
  /** abort a step with no progress for this long, in milliseconds. @defaultValue 120000 */
  stepTimeoutMs?: number;
  /**
   * health of the agents behind grpc:// endpoints: plans and steps wait for an unhealthy agent
   * instead of calling it (see docs/health.md). Without it, agents are called unchecked.
   */
  health?: TargetHealth;
}

/** The effect's result with the times of its work (machines/timing.ts: the run's breakdown). */
async function timed<T extends object>(work: () => Promise<T>): Promise<T & EffectTiming> {
  const startedAt = Date.now();
  const out = await work();
  return { ...out, startedAt, finishedAt: Date.now() };
}

/**
 * The effects' code, imported when an effect first runs (the health gate, the planner, the step
 * runner, the drivers, gRPC): a process that only starts runs or reads them loads none of it.
 */
const gate = () => import('../health/gate.js');

/** The machines and effects of replication, as the engine runs them. */
export function replicationRegistry(opts: ReplicationRegistryOptions): Registry {
  return {
    machines: {
      replication: {
        machine: replicationMachine,
        version: replicationMachineVersion,
        summarize: (s: AnyMachineSnapshot) => summarizeReplication(s.context as ReplicationContext),
        warn: { states: ['PermanentError'] },
      },
      filesystem: {
        machine: filesystemMachine,
        version: filesystemMachineVersion,
        summarize: (s: AnyMachineSnapshot) => summarizeFilesystem(s.context as FilesystemContext),
        stats: filesystemStats,
        // spawned as Working (fillSlots) and Working unless it ends at once (then its end is reported)
        reportInitialState: false,
        warn: { states: ['PermanentError'] },
      },
      pruning: {
        machine: pruningMachine,
        version: pruningMachineVersion,
        summarize: (s: AnyMachineSnapshot) => summarizePruning(s.context as PruningContext),
        warn: { states: ['PermanentError'] },
      },
    },
    effects: {
      plan: {
        timeoutMs: 120_000,
        run: async (input: PlanInput, ctx) => {
          const [{ onHealthyEndpoints }, { planReplication }, { openEndpoint }] = await Promise.all([gate(), import('./planner.js'), import('../storage/endpoint.js')]);
          return onHealthyEndpoints(opts.health, [input.sender, input.receiver], ctx.log, () => {
            ctx.progress({});
            return timed(() => planReplication({
              sender: openEndpoint(input.sender), receiver: openEndpoint(input.receiver), initial: input.initial,
              filesystems: input.filesystems, includeSnapshots: input.includeSnapshots, excludeSnapshots: input.excludeSnapshots, batch: input.batch, send: input.send,
            }));
          });
        },
      },
      replicateStep: {
        timeoutMs: opts.stepTimeoutMs ?? 120_000,
        run: async (input: ReplicateStepInput, ctx) => {
          const [{ onHealthyEndpoints }, { replicateStep }] = await Promise.all([gate(), import('./step-runner.js')]);
          return onHealthyEndpoints(opts.health, [input.sender, input.receiver], ctx.log, () => timed(() => replicateStep(input, ctx, opts.metrics)));
        },
      },
      planPrune: {
        timeoutMs: 120_000,
        run: async (input: PrunePlanInput, ctx) => {
          const [{ onHealthyEndpoints }, { planPrune }] = await Promise.all([gate(), import('./pruning-effects.js')]);
          return onHealthyEndpoints(opts.health, [input.sender, ...input.receivers], ctx.log, async () => {
            ctx.progress({});
            const end = opts.metrics.pruningDuration.startTimer({ phase: 'plan' });
            const plan = await planPrune(input, Date.now(), (p) => opts.metrics.setProtectedVersion({ job: input.job, ...p }));
            end();
            if (!input.dryRun) opts.metrics.keptSnapshots.set({ ferry_job: input.job, side: input.side, endpoint: input.endpoint }, plan.keep.length);
            return plan;
          });
        },
      },
      destroySnapshot: {
        timeoutMs: 120_000,
        run: async (input: DestroySnapshotInput, ctx) => {
          const [{ onHealthyEndpoints }, { destroyPlanned }] = await Promise.all([gate(), import('./pruning-effects.js')]);
          return onHealthyEndpoints(opts.health, [input.endpoint], ctx.log, async () => {
            ctx.progress({ entries: input.index });
            const end = opts.metrics.pruningDuration.startTimer({ phase: 'destroy' });
            const out = await destroyPlanned(input);
            end();
            if (out.outcome === 'destroyed') opts.metrics.prunedSnapshots.inc({ ferry_job: input.job, side: input.side });
            ctx.log.info({ endpoint: input.endpoint, snapshot: `${input.filesystem}@${input.name}`, outcome: out.outcome }, 'pruning: destroy');
            return out;
          });
        },
      },
    },
  };
}
