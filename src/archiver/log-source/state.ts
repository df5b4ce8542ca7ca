import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import { errnoCode } from '../../util/fs.js';
import type { PartitionState } from '../contracts.js';
import { readdirOrEmpty, readNumberOrNull } from './fsio.js';
import type { PartitionLayout } from './layout.js';
import { isValidLogName, parseLsnName } from './names.js';

/** PermanentError PARTITION_NOT_FOUND unless `<root>/<storage>/<partition>` is a directory. */
export async function assertPartitionExists(l: PartitionLayout): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(l.dir)).isDirectory();
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err;
  }
  if (!isDir) {
    throw new PermanentError(`log partition ${l.storage}/${l.partition} does not exist (no directory ${l.dir})`, {
      code: 'PARTITION_NOT_FOUND',
      details: { storage: l.storage, partition: l.partition },
    });
  }
}

/** The committed LSN; 0 when nothing was ever committed. */
export async function readCommitted(l: PartitionLayout): Promise<number> {
  return (await readNumberOrNull(l.committedFile)) ?? 0;
}

/** LSNs of the entry names among `names` (a listing of entries/; staging names skipped), ascending. */
export function entryLsns(names: string[]): number[] {
  const lsns: number[] = [];
  for (const name of names) {
    const lsn = parseLsnName(name);
    if (lsn !== null) lsns.push(lsn);
  }
  return lsns.sort((a, b) => a - b);
}

/** LSNs of the entries present (committed or not), ascending; staging names are skipped. */
export async function listEntryLsns(l: PartitionLayout): Promise<number[]> {
  return entryLsns(await readdirOrEmpty(l.entriesDir));
}

/**
 * Acknowledged positions of the registered consumers (one file each under positions/). A `known`
 * position (one the caller has just read or written) is taken instead of reading that file again.
 */
export async function readPositions(l: PartitionLayout, known?: { consumer: string; position: number }): Promise<Record<string, number>> {
  const positions: Record<string, number> = {};
  for (const name of (await readdirOrEmpty(l.positionsDir)).sort()) {
    if (!isValidLogName(name)) continue; // temp files are hidden ('.'), never consumers
    const n = name === known?.consumer ? known.position : await readNumberOrNull(join(l.positionsDir, name));
    if (n !== null) positions[name] = n;
  }
  return positions;
}

/**
 * lowWaterMark: the lowest entry present; with no entry present, committed + 1 (the next entry
 * to come), so a consumer positioned below it sees the gap and one at committed + 1 is caught up.
 * highWaterMark: the committed LSN. Entries above it are appended but not committed.
 */
export async function readPartitionState(l: PartitionLayout): Promise<PartitionState> {
  await assertPartitionExists(l);
  const [committed, lsns, positions] = await Promise.all([readCommitted(l), listEntryLsns(l), readPositions(l)]);
  return {
    storage: l.storage,
    partition: l.partition,
    lowWaterMark: lsns.length > 0 ? lsns[0] : committed + 1,
    highWaterMark: committed,
    positions,
  };
}
