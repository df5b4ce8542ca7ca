import { watch, type FSWatcher } from 'node:fs';
import cliProgress from 'cli-progress';
import { COMMIT_SIGNAL } from '../../archiver/log-source/writer.js';
import { allPartitionStatus, removeSinkOrphans, scanAndNotify, scannedMarks, settled, type PartitionStatus } from '../../archiver/coordinator.js';
import { archiveTargetIdentity } from '../../archiver/archive-target.js';
import { isRemoteLogSource, openLogSource } from '../../archiver/open-log-source.js';
import type { App } from '../app.js';
import { formatTable } from '../format.js';

export interface ArchiveOptions {
  /** a log source root directory, or grpc://HOST:PORT of a `ferry agent --log-root` */
  log: string;
  sink: string;
  /** the consumer name in the log source's positions; default: derived from the sink */
  consumer?: string;
  once: boolean;
  /** seconds between rescans of the log source */
  intervalSec: number;
  progress: boolean;
  retry?: { initialMs: number; maxMs: number };
}

export interface ArchiveSummary {
  /** the consumer this archiver acknowledged as */
  consumer: string;
  /** temp files of interrupted puts removed from the sink at start */
  orphansRemoved: number;
  partitions: number;
  archived: number;
  present: number;
  gaps: number;
  failed: PartitionStatus[];
}

function summarize(all: PartitionStatus[], consumer: string, orphansRemoved: number): ArchiveSummary {
  return {
    consumer,
    orphansRemoved,
    partitions: all.length,
    archived: all.reduce((n, s) => n + s.archived, 0),
    present: all.reduce((n, s) => n + s.present, 0),
    gaps: all.reduce((n, s) => n + s.gaps, 0),
    failed: all.filter((s) => s.state === 'Failed'),
  };
}

/**
 * Archives everything committed in a log source: scans, notifies the partition machines, and
 * rescans every interval. With `once`, returns when every partition is caught up (or failed).
 */
export async function archive(app: App, o: ArchiveOptions, signal: AbortSignal): Promise<ArchiveSummary> {
  const source = openLogSource(o.log);
  // the machines get the source's normalized root (an absolute path, or grpc://HOST:PORT); validates sink and consumer
  const { consumer } = archiveTargetIdentity(source.root, o.sink, o.consumer);
  const target = { log: source.root, sink: o.sink, consumer, retry: o.retry };
  const orphansRemoved = await removeSinkOrphans(o.sink);
  const bar = o.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: ' archive |{bar}| {value}/{total} entries | {partitions} partitions | {failed} failed' }, cliProgress.Presets.shades_classic)
    : null;
  let partitions = await scanAndNotify(app.engine, source, target, app.metrics);
  let marks = scannedMarks(partitions, target);
  const total = () => partitions.reduce((n, p) => n + Math.max(0, p.highWaterMark - (p.positions[consumer] ?? Math.max(0, p.lowWaterMark - 1))), 0);
  const startTotal = total();
  bar?.start(Math.max(1, startTotal), 0, { partitions: partitions.length, failed: 0 });
  let lastScan = Date.now();
  // a node's commit touches the root's commit signal: rescan at once instead of at the next interval
  // (a remote source has no signal to watch: it is rescanned every interval)
  let signalled = false;
  const watcher = o.once || isRemoteLogSource(o.log) ? null : watchCommits(source.root, () => { signalled = true; });
  try {
    for (;;) {
      const all = await scannedStatus(app, marks);
      const sum = summarize(all, consumer, orphansRemoved);
      bar?.update(Math.min(startTotal, sum.archived + sum.present), { partitions: all.length, failed: sum.failed.length });
      if (o.once && all.length === marks.size && all.every((s) => settled(s, marks.get(s.id) ?? 0))) return sum;
      if (signal.aborted) return summaryAfterStop(app, marks, consumer, orphansRemoved);
      if (signalled || Date.now() - lastScan >= o.intervalSec * 1000) {
        signalled = false;
        partitions = await scanAndNotify(app.engine, source, target, app.metrics);
        marks = scannedMarks(partitions, target);
        lastScan = Date.now();
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    watcher?.close();
    bar?.stop();
  }
}

/** the status of the partitions the last scan found */
async function scannedStatus(app: App, marks: Map<string, number>): Promise<PartitionStatus[]> {
  return (await allPartitionStatus(app.engine)).filter((s) => marks.has(s.id));
}

/** how long Ctrl-C waits for the entries in flight to be recorded before the summary is read */
const STOP_SETTLE_MS = 5000;

/**
 * The summary after Ctrl-C: read once no partition is mid-entry (an entry written to the sink is
 * counted once its machine recorded it), or after a few seconds of a backlog that keeps them busy.
 * The workers still run meanwhile; they stop after.
 */
async function summaryAfterStop(app: App, marks: Map<string, number>, consumer: string, orphansRemoved: number): Promise<ArchiveSummary> {
  const deadline = Date.now() + STOP_SETTLE_MS;
  for (;;) {
    const all = await scannedStatus(app, marks);
    if (Date.now() >= deadline || all.every((s) => s.state !== 'Working' && s.state !== 'Acknowledging')) return summarize(all, consumer, orphansRemoved);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function watchCommits(root: string, onCommit: () => void): FSWatcher | null {
  try {
    const w = watch(root, (_event, name) => { if (name === COMMIT_SIGNAL) onCommit(); });
    w.on('error', () => w.close());
    return w;
  } catch {
    return null; // no root yet, or no inotify: the interval rescan still finds everything
  }
}

export function formatPartitions(all: PartitionStatus[]): string {
  if (!all.length) return 'no partitions yet: start with `ferry archive --log DIR --sink URL`';
  return formatTable([
    ['PARTITION', 'SINK', 'CONSUMER', 'STATE', 'NEXT LSN', 'HIGH WATER', 'ARCHIVED', 'PRESENT', 'GAPS', 'LAST ERROR'],
    ...all.map((s) => [`${s.storage}/${s.partition}`, s.sink, s.consumer, s.state, String(s.nextLsn), String(s.highWaterMark), String(s.archived), String(s.present), String(s.gaps), s.problem ?? (s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : '')]),
  ]);
}
