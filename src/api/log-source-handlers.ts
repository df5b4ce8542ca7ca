import type { LogSource, PartitionRef, PartitionState } from '../archiver/contracts.js';
import { PermanentError } from '../errors/index.js';
import { writeHeadered } from '../grpc/chunk-stream.js';
import type { HandlerKit } from '../grpc/server-kit.js';
import type { PartitionState as PartitionStateMsg } from '../grpc/generated/ferry/v1/PartitionState.js';
import type { EndpointHandlers } from '../grpc/proto.js';
import { integerField, logNameField } from './request-fields.js';

/**
 * The log-source calls of the Endpoint service (ListPartitions, GetPartition, ReadEntry,
 * Acknowledge, Prune) over the agent's `--log-root`. Names and LSNs are checked here, so a bad
 * request is INVALID_ARGUMENT naming the field before the log source is touched.
 */

export type LogSourceHandlers = Pick<EndpointHandlers, 'ListPartitions' | 'GetPartition' | 'ReadEntry' | 'Acknowledge' | 'Prune'>;

function partitionRef(req: { storage?: string; partition?: string }): PartitionRef {
  return { storage: logNameField(req.storage, 'storage'), partition: logNameField(req.partition, 'partition') };
}

function stateToMsg(s: PartitionState): PartitionStateMsg {
  return { storage: s.storage, partition: s.partition, lowWaterMark: s.lowWaterMark, highWaterMark: s.highWaterMark, positions: s.positions };
}

export function logSourceHandlers(source: LogSource | null, kit: HandlerKit): LogSourceHandlers {
  const served = (): LogSource => {
    if (!source) throw new PermanentError('this agent serves no log source: start it with --log-root', { code: 'NO_LOG_SOURCE' });
    return source;
  };
  return {
    ListPartitions: kit.unary('ListPartitions', async () => ({ partitions: (await served().listPartitions()).map(stateToMsg) })),
    GetPartition: kit.unary('GetPartition', async (req) => {
      const s = served();
      return { partition: stateToMsg(await s.partitionState(partitionRef(req))) };
    }),
    ReadEntry: kit.serverStream('ReadEntry', async (req, write, signal) => {
      const s = served();
      const ref = partitionRef(req);
      const lsn = integerField(req.lsn, 'lsn', 1);
      const { stream, size } = await s.readEntry(ref, lsn, signal);
      await writeHeadered(stream, { size: size ?? 0 }, write, signal);
    }),
    Acknowledge: kit.unary('Acknowledge', async (req) => {
      const s = served();
      const ref = partitionRef(req);
      const consumer = logNameField(req.consumer, 'consumer');
      await s.acknowledge(ref, consumer, integerField(req.lsn, 'lsn', 0));
      return {};
    }),
    Prune: kit.unary('Prune', async (req) => {
      const s = served();
      return { pruned: await s.prune(partitionRef(req)) };
    }),
  };
}
