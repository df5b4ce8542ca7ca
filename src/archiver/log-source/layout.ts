import { join, resolve } from 'node:path';
import type { PartitionRef } from '../contracts.js';
import { assertLogName, lsnName } from './names.js';

/**
 * Where a partition lives under the log root (docs/wal-log-source.md):
 *
 *   <root>/<storage>/<partition>/committed              committed LSN, "<n>\n" (absent: 0)
 *   <root>/<storage>/<partition>/entries/<lsn:20>       one entry: a file or a directory
 *   <root>/<storage>/<partition>/positions/<consumer>   acknowledged LSN, "<n>\n"
 *
 * Names starting with '.' inside entries/ and positions/ are the log source's own staging
 * (appends in progress, entries being pruned, temp files) and are never entries or consumers.
 */
export interface PartitionLayout {
  storage: string;
  partition: string;
  dir: string;
  entriesDir: string;
  committedFile: string;
  positionsDir: string;
}

/** an append being written: `.append-<lsn>-<random>`, renamed to `<lsn>` when complete */
export const APPEND_PREFIX = '.append-';
/** an entry being pruned: renamed to `.pruned-<lsn>-<random>` first, then removed */
export const PRUNED_PREFIX = '.pruned-';

export function partitionLayout(root: string, p: PartitionRef): PartitionLayout {
  assertLogName('storage', p.storage);
  assertLogName('partition', p.partition);
  const dir = join(resolve(root), p.storage, p.partition);
  return {
    storage: p.storage,
    partition: p.partition,
    dir,
    entriesDir: join(dir, 'entries'),
    committedFile: join(dir, 'committed'),
    positionsDir: join(dir, 'positions'),
  };
}

export function entryPath(l: PartitionLayout, lsn: number): string {
  return join(l.entriesDir, lsnName(lsn));
}

export function positionPath(l: PartitionLayout, consumer: string): string {
  assertLogName('consumer', consumer);
  return join(l.positionsDir, consumer);
}
