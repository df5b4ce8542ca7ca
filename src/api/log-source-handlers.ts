import type { LogSource, PartitionRef, PartitionState } from '../archiver/contracts.js';
import { logNameProblem } from '../archiver/log-source/names.js';
import { PermanentError } from '../errors/index.js';
import { writeHeadered } from '../grpc/chunk-stream.js';
import type { HandlerKit } from '../grpc/server-kit.js';
import type { PartitionState as PartitionStateMsg } from '../grpc/generated/ferry/v1/PartitionState.js';
import type { EndpointHandlers } from '../grpc/proto.js';
import { invalidField } from '../grpc/status.js';

/**
 * The log-source calls of the Endpoint service (ListPartitions, GetPartition, ReadEntry,
 * Acknowledge, Prune) over the agent's `--log-root`. Names and LSNs are checked here, so a bad
 * request is INVALID_ARGUMENT naming the field before the log source is touched.
 */

export type LogSourceHandlers = Pick<EndpointHandlers, 'ListPartitions' | 'GetPartition' | 'ReadEntry' | 'Acknowledge' | 'Prune'>;

function logName(value: unknown, field: 'storage' | 'partition' | 'consumer'): string {
  if (value === undefined || value === '') throw invalidField(field, 'required');
  const problem = logNameProblem(value);
  if (problem !== null) throw invalidField(field, `${JSON.stringify(value)} ${problem}`);
  return value as string;
}

/** proto3 does not send 0: an absent LSN is 0, refused below `min` */
function lsnField(value: number | undefined, min: number): number {
  const lsn = value ?? 0;
  if (!Number.isSafeInteger(lsn) || lsn < min) throw invalidField('lsn', `must be an integer >= ${min}, not ${String(value ?? 'absent')}`);
  return lsn;
}

function partitionRef(req: { storage?: string; partition?: string }): PartitionRef {
  return { storage: logName(req.storage, 'storage'), partition: logName(req.partition, 'partition') };
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
      const lsn = lsnField(req.lsn, 1);
      const { stream, size } = await s.readEntry(ref, lsn, signal);
      await writeHeadered(stream, { size: size ?? 0 }, write, signal);
    }),
    Acknowledge: kit.unary('Acknowledge', async (req) => {
      const s = served();
      const ref = partitionRef(req);
      const consumer = logName(req.consumer, 'consumer');
      await s.acknowledge(ref, consumer, lsnField(req.lsn, 0));
      return {};
    }),
    Prune: kit.unary('Prune', async (req) => {
      const s = served();
      return { pruned: await s.prune(partitionRef(req)) };
    }),
  };
}
