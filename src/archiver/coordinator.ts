import type { PartitionContext, PartitionInput } from '../../machines/partition.js';
import { LEGACY_CONSUMER, partitionMachineId } from '../../machines/partition.js';
import type { Engine } from '../engine/engine.js';
import { stateName } from '../util/state-name.js';
import type { ArchiverMetrics } from './metrics.js';
import { archiveTargetIdentity } from './archive-target.js';
import { openSink, redactSinkUrl } from './sinks/index.js';
import type { LogSource, PartitionState } from './contracts.js';

export interface PartitionStatus {
  id: string;
  storage: string;
  partition: string;
  /** where the machine archives from and to, and as which consumer it acknowledges */
  log: string;
  sink: string;
  consumer: string;
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
  /** the consumer name in the log source's positions; default: derived from the sink (defaultConsumer) */
  consumer?: string;
  retry?: { initialMs: number; maxMs: number };
}

/**
 * Reports every partition of a log source to its partition machine for this target (starting
 * machines for new partitions). Runs at start and on every rescan, so nothing depends on a
 * notification arriving.
 */
export async function scanAndNotify(engine: Engine, source: LogSource, t: ArchiveTarget, metrics?: ArchiverMetrics): Promise<PartitionState[]> {
  const target = archiveTargetIdentity(t.log, t.sink, t.consumer);
  const { consumer } = target;
  const partitions = await source.listPartitions();
  await Promise.all(partitions.map(async (p) => {
    const id = partitionMachineId(target.key, p.storage, p.partition);
    // registered before the first archive, so no other consumer's position lets the source prune what is not archived yet;
    // through the source (acknowledging creates a position and never moves one back), so a remote source works the same
    const acked = p.positions[consumer] ?? Math.max(0, p.lowWaterMark - 1);
    if (p.positions[consumer] === undefined) await source.acknowledge(p, consumer, acked);
    const input: PartitionInput = {
      storage: p.storage, partition: p.partition, log: t.log, sink: t.sink, consumer,
      // A new machine starts at what the log still holds, not after the consumer's position: that
      // position may have been moved by an archiver into another sink (the same --consumer with a
      // new --sink), and this sink has nothing yet. Entries the sink already holds are only checked.
      nextLsn: p.lowWaterMark || 1,
      ...(t.retry ? { retry: t.retry } : {}),
    };
    await engine.start('partition', id, input);
    await engine.send(id, { type: 'ferry.notify', lowWaterMark: p.lowWaterMark, highWaterMark: p.highWaterMark } as never);
    metrics?.walBacklog.set({ storage: p.storage, partition: p.partition, consumer }, Math.max(0, p.highWaterMark - acked));
  }));
  return partitions;
}

/** A sink's temp files untouched for this long have no live writer (a put lasts one archive effect: a minute at most). */
export const ORPHAN_AGE_MS = 60 * 60_000;

/** Removes what puts killed mid-write left in the sink (a sink whose failed puts leave nothing has none); returns how many. */
export async function removeSinkOrphans(sink: string, olderThanMs = ORPHAN_AGE_MS): Promise<number> {
  return (await openSink(sink).removeOrphans?.(olderThanMs)) ?? 0;
}

export async function partitionStatus(engine: Engine, id: string): Promise<PartitionStatus | null> {
  const s = await engine.snapshotOf(id);
  if (!s) return null;
  const c = s.context as PartitionContext;
  return {
    id, storage: c.storage, partition: c.partition, log: c.log, sink: redactSinkUrl(c.sink), consumer: c.consumer ?? LEGACY_CONSUMER, state: stateName(s.value), nextLsn: c.nextLsn, highWaterMark: c.highWaterMark,
    archived: c.archived, present: c.present, gaps: c.gaps, backoffMs: c.backoffMs, lastError: c.lastError, problem: c.problem,
  };
}

/**
 * Every machine archiving `storage/partition` (one per log root, sink and consumer), sorted by id.
 * Ids are `wal.<target>.<storage>.<partition>` (and `wal.<storage>.<partition>` from before targets
 * had names); names have no '.', so the last two segments are the partition.
 */
export async function partitionStatusesOf(engine: Engine, storage: string, partition: string, limit = 100_000): Promise<PartitionStatus[]> {
  const ids = (await engine.list('partition', limit)).filter((id) => id.endsWith(`.${storage}.${partition}`) && id.split('.').length <= 4);
  const out = (await Promise.all(ids.map((id) => partitionStatus(engine, id)))).filter((s): s is PartitionStatus => s !== null);
  return out.sort((a, b) => a.id.localeCompare(b.id));
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

/** the high water mark of each scanned partition by the id of its machine for target `t` */
export function scannedMarks(parts: PartitionState[], t: ArchiveTarget): Map<string, number> {
  const { key } = archiveTargetIdentity(t.log, t.sink, t.consumer);
  return new Map(parts.map((p) => [partitionMachineId(key, p.storage, p.partition), p.highWaterMark]));
}
