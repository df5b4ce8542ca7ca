import type { AnyMachineSnapshot } from 'xstate';
import { jobMachine, jobMachineVersion, type TakeSnapshotInput, type TakeSnapshotOutput } from '../../machines/job.js';
import type { Registry } from '../engine/types.js';
import { onHealthyEndpoints } from '../health/gate.js';
import type { TargetHealth } from '../health/target-health.js';
import { snapshot } from '../storage/snapshots.js';

/**
 * The job machine and its snapshot effect, as the engine runs them. With `health`, the snapshot
 * waits for a sender agent that is down (TARGET_UNHEALTHY) instead of using up its attempts.
 */
export function jobRegistry(opts: { health?: TargetHealth } = {}): Registry {
  return {
    machines: {
      job: { machine: jobMachine, version: jobMachineVersion, summarize: (s: AnyMachineSnapshot) => ({ problem: s.context.problem }) },
    },
    effects: {
      takeSnapshot: {
        timeoutMs: 600_000,
        run: (input: TakeSnapshotInput, ctx): Promise<TakeSnapshotOutput> => onHealthyEndpoints(opts.health, [input.sender], ctx.log, async () => {
          ctx.progress({});
          // skipExisting: a retried effect finds the snapshots of its own earlier attempt
          const taken = await snapshot(input.sender, { name: input.name, prefix: '', filesystems: input.filesystems, skipExisting: true });
          return { name: input.name, filesystems: taken.length };
        }),
      },
    },
  };
}
