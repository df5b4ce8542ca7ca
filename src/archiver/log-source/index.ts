import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, PermanentError } from '../../errors/index.js';
import { classifyError, errnoCode, lstatOrNull, randomHex, removeTree } from '../../storage/dir/fsutil.js';
import type { LogSource, PartitionRef, PartitionState } from '../contracts.js';
import { packEntry } from '../entry-tar.js';
import { readNumberOrNull, serialized, syncDir, writeNumberAtomic } from './fsio.js';
import { entryPath, partitionLayout, positionPath, PRUNED_PREFIX, type PartitionLayout } from './layout.js';
import { assertLsn, isValidLogName, lsnName } from './names.js';
import { assertPartitionExists, listEntryLsns, readCommitted, readPartitionState, readPositions } from './state.js';

export { appendEntry, commit, createPartition, registerConsumer, type EntryContent } from './writer.js';
export { assertLogName, assertLsn, isValidLogName, lsnName, parseLsnName, LSN_WIDTH } from './names.js';

/**
 * A log source kept in plain files under `root` (layout: docs/wal-log-source.md). Several
 * processes may read it; positions of one consumer must have one writer at a time (writes to one
 * position file are serialized within a process, and the file is only ever replaced atomically).
 */
export function createFileLogSource(root: string): LogSource {
  if (typeof root !== 'string' || root.length === 0) {
    throw new InvalidArgumentError(`invalid log source root ${JSON.stringify(root)}: must be a directory path`, { code: 'INVALID_ARGUMENT' });
  }
  const abs = resolve(root);
  const layout = (p: PartitionRef): PartitionLayout => partitionLayout(abs, p);

  async function listPartitions(): Promise<PartitionState[]> {
    try {
      const out: PartitionState[] = [];
      for (const storage of (await dirNames(abs)).filter(isValidLogName).sort()) {
        for (const partition of (await dirNames(join(abs, storage))).filter(isValidLogName).sort()) {
          out.push(await readPartitionState(layout({ storage, partition })));
        }
      }
      return out;
    } catch (err) {
      throw classifyError(err, `listing log partitions under ${abs}`);
    }
  }

  async function partitionState(p: PartitionRef): Promise<PartitionState> {
    const l = layout(p);
    try {
      return await readPartitionState(l);
    } catch (err) {
      throw classifyError(err, `reading log partition ${p.storage}/${p.partition}`);
    }
  }

  async function readEntry(p: PartitionRef, lsn: number, signal?: AbortSignal): Promise<{ stream: Readable; size?: number }> {
    const l = layout(p);
    assertLsn(lsn, 'LSN');
    try {
      await assertPartitionExists(l);
      const committed = await readCommitted(l);
      if (lsn > committed) {
        throw new PermanentError(`entry ${lsn} of ${p.storage}/${p.partition} is not committed (committed LSN is ${committed}); only committed entries are read`, {
          code: 'NOT_COMMITTED',
          details: { storage: p.storage, partition: p.partition, lsn, committed },
        });
      }
      const path = entryPath(l, lsn);
      if (!(await lstatOrNull(path))) {
        const lsns = await listEntryLsns(l);
        const low = lsns[0] ?? committed + 1;
        throw new PermanentError(
          `entry ${lsn} of ${p.storage}/${p.partition} is missing${lsn < low ? ` (pruned: the lowest entry present is ${low})` : ''}`,
          { code: 'ENTRY_NOT_FOUND', details: { storage: p.storage, partition: p.partition, lsn, lowWaterMark: low } },
        );
      }
      return await packEntry(path, { name: lsnName(lsn), signal });
    } catch (err) {
      throw classifyError(err, `reading entry ${lsn} of ${p.storage}/${p.partition}`);
    }
  }

  async function acknowledge(p: PartitionRef, consumer: string, lsn: number): Promise<void> {
    const l = layout(p);
    const path = positionPath(l, consumer);
    assertLsn(lsn, 'acknowledged LSN', 0);
    try {
      await assertPartitionExists(l);
      const committed = await readCommitted(l);
      if (lsn > committed) {
        throw new PermanentError(`${consumer} cannot acknowledge LSN ${lsn} of ${p.storage}/${p.partition}: only LSNs up to ${committed} are committed`, {
          code: 'NOT_COMMITTED',
          details: { storage: p.storage, partition: p.partition, consumer, lsn, committed },
        });
      }
      await mkdir(l.positionsDir, { recursive: true });
      await serialized(path, async () => {
        const current = await readNumberOrNull(path);
        if (current !== null && current >= lsn) return; // never backwards; the same position again is a no-op
        await writeNumberAtomic(path, lsn);
      });
    } catch (err) {
      throw classifyError(err, `acknowledging LSN ${lsn} of ${p.storage}/${p.partition} for ${consumer}`);
    }
  }

  async function prune(p: PartitionRef): Promise<number> {
    const l = layout(p);
    try {
      await assertPartitionExists(l);
      return await serialized(`prune:${l.dir}`, async () => {
        await removeLeftovers(l);
        const positions = Object.values(await readPositions(l));
        if (positions.length === 0) return 0; // nobody registered: nobody said what may go
        const committed = await readCommitted(l);
        // strictly below the lowest acknowledged position, and never an uncommitted entry
        const below = Math.min(...positions, committed + 1);
        let removed = 0;
        for (const lsn of await listEntryLsns(l)) {
          if (lsn >= below) break;
          const aside = join(l.entriesDir, `${PRUNED_PREFIX}${lsnName(lsn)}-${randomHex(6)}`);
          try {
            await rename(entryPath(l, lsn), aside); // the entry disappears at once, whole
          } catch (err) {
            if (errnoCode(err) === 'ENOENT') continue; // pruned concurrently
            throw err;
          }
          removed++;
          await removeTree(aside);
        }
        if (removed > 0) await syncDir(l.entriesDir);
        return removed;
      });
    } catch (err) {
      throw classifyError(err, `pruning ${p.storage}/${p.partition}`);
    }
  }

  return { root: abs, listPartitions, partitionState, readEntry, acknowledge, prune };
}

/** Entries renamed aside by a prune that did not finish removing them (a crash): they are gone already. */
async function removeLeftovers(l: PartitionLayout): Promise<void> {
  let names: string[];
  try {
    names = await readdir(l.entriesDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  for (const name of names) if (name.startsWith(PRUNED_PREFIX)) await removeTree(join(l.entriesDir, name));
}

async function dirNames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
  const out: string[] = [];
  for (const name of names) {
    const st = await stat(join(dir, name)).catch(() => null);
    if (st?.isDirectory()) out.push(name);
  }
  return out;
}
