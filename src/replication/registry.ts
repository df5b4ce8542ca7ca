import type { AnyMachineSnapshot } from 'xstate';
import { filesystemMachine, filesystemMachineVersion, summarizeFilesystem, type FilesystemContext } from '../../machines/filesystem.js';
import { replicationMachine, replicationMachineVersion, summarizeReplication, type PlanInput, type ReplicationContext } from '../../machines/replication.js';
import type { Registry } from '../engine/types.js';
import type { FerryMetrics } from '../observability/metrics.js';
import { openEndpoint } from '../storage/endpoint.js';
import { planReplication } from './planner.js';
import { replicateStep } from './step-runner.js';

export interface ReplicationRegistryOptions {
  metrics: FerryMetrics;
  /** abort a step with no progress for this long, in milliseconds. @defaultValue 120000 */
  stepTimeoutMs?: number;
}

/** The machines and effects of replication, as the engine runs them. */
export function replicationRegistry(opts: ReplicationRegistryOptions): Registry {
  return {
    machines: {
      replication: {
        machine: replicationMachine,
        version: replicationMachineVersion,
        summarize: (s: AnyMachineSnapshot) => summarizeReplication(s.context as ReplicationContext),
      },
      filesystem: {
        machine: filesystemMachine,
        version: filesystemMachineVersion,
        summarize: (s: AnyMachineSnapshot) => summarizeFilesystem(s.context as FilesystemContext),
      },
    },
    effects: {
      plan: {
        timeoutMs: 120_000,
        async run(input: PlanInput, ctx) {
          ctx.progress({});
          return planReplication({
            sender: openEndpoint(input.sender), receiver: openEndpoint(input.receiver), initial: input.initial,
            filesystems: input.filesystems, includeSnapshots: input.includeSnapshots, excludeSnapshots: input.excludeSnapshots, batch: input.batch,
          });
        },
      },
      replicateStep: {
        timeoutMs: opts.stepTimeoutMs ?? 120_000,
        run: (input, ctx) => replicateStep(input, ctx, opts.metrics),
      },
    },
  };
}
