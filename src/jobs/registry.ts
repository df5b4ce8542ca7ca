import type { AnyMachineSnapshot } from 'xstate';
import { jobMachine, jobMachineVersion, type JobContext, type TakeSnapshotInput, type TakeSnapshotOutput } from '../../machines/job.js';
import type { Registry, StatChange } from '../engine/types.js';
import { jobLabel, STAT } from '../replication/committed-stats.js';
import type { TargetHealth } from '../health/target-health.js';

/**
 * The job machine and its snapshot effect, as the engine runs them. With `health`, the snapshot
 * waits for a sender agent that is down (TARGET_UNHEALTHY) instead of using up its attempts.
 */
export function jobRegistry(opts: { health?: TargetHealth } = {}): Registry {
  return {
    machines: {
      job: {
        machine: jobMachine, version: jobMachineVersion, summarize: (s: AnyMachineSnapshot) => ({ problem: s.context.problem }),
        stats: jobStats, warn: { states: ['PermanentError'] },
      },
    },
    effects: {
      takeSnapshot: {
        timeoutMs: 600_000,
        run: async (input: TakeSnapshotInput, ctx): Promise<TakeSnapshotOutput> => {
          // the gate and the drivers load when a snapshot is first taken: a process that only starts or reads runs needs neither
          const [{ onHealthyEndpoints }, { snapshot }] = await Promise.all([import('../health/gate.js'), import('../storage/snapshots.js')]);
          return onHealthyEndpoints(opts.health, [input.sender], ctx.log, async () => {
            ctx.progress({});
            // skipExisting: a retried effect finds the snapshots of its own earlier attempt
            const taken = await snapshot(input.sender, { name: input.name, prefix: '', filesystems: input.filesystems, skipExisting: true });
            return { name: input.name, filesystems: taken.length };
          });
        },
      },
    },
  };
}

/** Pure: an invocation that completes sets its job's last success (seconds since epoch). */
export function jobStats(before: AnyMachineSnapshot | null, after: AnyMachineSnapshot, at: number): StatChange[] {
  if (after.value !== 'Completed' || before?.value === 'Completed') return [];
  return [{ op: 'set', name: STAT.lastSuccess, labels: jobLabel((after.context as JobContext).job), value: at / 1000 }];
}
