import type { AnyMachineSnapshot } from 'xstate';
import { jobMachine, jobMachineVersion, type TakeSnapshotInput, type TakeSnapshotOutput } from '../../machines/job.js';
import type { Registry } from '../engine/types.js';
import { snapshot } from '../replication/snapshots.js';

/** The job machine and its snapshot effect, as the engine runs them. */
export function jobRegistry(): Registry {
  return {
    machines: {
      job: { machine: jobMachine, version: jobMachineVersion, summarize: (s: AnyMachineSnapshot) => ({ problem: s.context.problem }) },
    },
    effects: {
      takeSnapshot: {
        timeoutMs: 600_000,
        async run(input: TakeSnapshotInput, ctx): Promise<TakeSnapshotOutput> {
          ctx.progress({});
          // skipExisting: a retried effect finds the snapshots of its own earlier attempt
          const taken = await snapshot(input.sender, { name: input.name, prefix: '', filesystems: input.filesystems, skipExisting: true });
          return { name: input.name, filesystems: taken.length };
        },
      },
    },
  };
}
