import type { PartitionContext, PartitionInput } from '../../machines/partition.js';
import { partitionMachineId } from '../../machines/partition.js';
import type { Engine } from '../engine/engine.js';
import { stateName } from '../util/state-name.js';
import type { ArchiverMetrics } from './metrics.js';
import { ARCHIVER_CONSUMER } from './archive-entry.js';
import type { LogSource, PartitionState } from './contracts.js';

export interface PartitionStatus {
  id: string;
  storage: string;
  partition: string;
  state: string;
  nextLsn: number;
  highWaterMark: number;
  archived: number;
  present: number;
  gaps: number;
  backoffMs: number;
  lastError: { code: string; message: string } | null;
  problem: string | null;
}

export interface ArchiveTarget {
  /** the log source as `openLogSource` takes it: a root directory or grpc://HOST:PORT */
  log: string;
  sink: string;
  retry?: { initialMs: number; maxMs: number };
}

/**
 * Reports every partition of a log source to its partition machine (starting machines for new
 * partitions). Runs at start and on every rescan, so nothing depends on a notification arriving.
 */
export async function scanAndNotify(engine: Engine, source: LogSource, t: ArchiveTarget, metrics?: ArchiverMetrics): Promise<PartitionState[]> {
  const partitions = await source.listPartitions();
  await Promise.all(partitions.map(async (p) => {
    const id = partitionMachineId(p.storage, p.partition);
    // registered before the first archive, so no other consumer's position lets the source prune what is not archived yet;
    // through the source (acknowledging creates a position and never moves one back), so a remote source works the same
    const acked = p.positions[ARCHIVER_CONSUMER] ?? Math.max(0, p.lowWaterMark - 1);
    if (p.positions[ARCHIVER_CONSUMER] === undefined) await source.acknowledge(p, ARCHIVER_CONSUMER, acked);
    const input: PartitionInput = {
      storage: p.storage, partition: p.partition, log: t.log, sink: t.sink,
      // resume after what this archiver acknowledged; the sink's checksum check makes a repeat harmless
      nextLsn: Math.max(p.lowWaterMark || 1, acked + 1),
      ...(t.retry ? { retry: t.retry } : {}),
    };
    await engine.start('partition', id, input);
    await engine.send(id, { type: 'ferry.notify', lowWaterMark: p.lowWaterMark, highWaterMark: p.highWaterMark } as never);
    metrics?.walBacklog.set({ storage: p.storage, partition: p.partition }, Math.max(0, p.highWaterMark - acked));
  }));
  return partitions;
}

export async function partitionStatus(engine: Engine, id: string): Promise<PartitionStatus | null> {
  const s = await engine.snapshotOf(id);
  if (!s) return null;
  const c = s.context as PartitionContext;
  return {
    id, storage: c.storage, partition: c.partition, state: stateName(s.value), nextLsn: c.nextLsn, highWaterMark: c.highWaterMark,
    archived: c.archived, present: c.present, gaps: c.gaps, backoffMs: c.backoffMs, lastError: c.lastError, problem: c.problem,
  };
}

export async function allPartitionStatus(engine: Engine, limit = 100_000): Promise<PartitionStatus[]> {
  const ids = await engine.list('partition', limit);
  const out = (await Promise.all(ids.map((id) => partitionStatus(engine, id)))).filter((s): s is PartitionStatus => s !== null);
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Caught up with what a scan saw: the machine has taken in the scan's high water mark (its
 * notification may still sit in the inbox) and archived up to it, or the partition failed.
 */
export function settled(s: PartitionStatus, scannedHighWaterMark: number): boolean {
  if (s.state === 'Failed') return true;
  return s.highWaterMark >= scannedHighWaterMark && s.state === 'Idle' && s.nextLsn > s.highWaterMark;
}

/** the high water mark of each scanned partition by machine id */
export function scannedMarks(parts: PartitionState[]): Map<string, number> {
  return new Map(parts.map((p) => [partitionMachineId(p.storage, p.partition), p.highWaterMark]));
}
