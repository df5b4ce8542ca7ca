import type { AnyMachineSnapshot } from 'xstate';
import type { Redis } from 'ioredis';
import { partitionMachine, partitionMachineVersion, summarizePartition, type PartitionContext } from '../../machines/partition.js';
import type { Clock, Registry } from '../engine/types.js';
import type { ArchiverMetrics } from './metrics.js';
import { SinkBackoff } from './sink-backoff.js';

export interface ArchiverRegistryOptions {
  metrics: ArchiverMetrics;
  /** the process's shared connection (the sink backoff lives in Redis; see openRedis in src/util/redis.ts) */
  redis: Redis;
  prefix: string;
  clock: Clock;
  /** first sink-wide backoff, in milliseconds. @defaultValue 5000 */
  sinkBackoffMs?: number;
}

/** The partition machine and its effects, as the engine runs them. */
export function archiverRegistry(o: ArchiverRegistryOptions): Registry {
  const backoff = new SinkBackoff(o.redis, o.prefix, o.clock, o.sinkBackoffMs ?? 5_000);
  // loaded at the first archive job: the sinks (the S3 SDK) and log sources cost a `ferry replicate` 0.2 s to load
  const effects = () => import('./archive-entry.js');
  return {
    machines: {
      partition: {
        machine: partitionMachine,
        version: partitionMachineVersion,
        summarize: (s: AnyMachineSnapshot) => summarizePartition(s.context as PartitionContext),
        // a skipped gap loses entries and a Failed partition archives nothing until reset: a person must hear of both
        warn: { states: ['Failed'], emitted: ['archive.gap'] },
      },
    },
    effects: {
      archiveEntry: { timeoutMs: 60_000, run: async (input, ctx) => (await effects()).archiveEntry(input, ctx, { metrics: o.metrics, backoff }) },
      acknowledge: { timeoutMs: 30_000, run: async (input) => (await effects()).acknowledgeEntry(input) },
    },
  };
}
