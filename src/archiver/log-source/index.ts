import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, PermanentError } from '../../errors/index.js';
import { classifyError, errnoCode, lstatOrNull, randomHex, removeTree } from '../../util/fs.js';
import type { ArchiverLogSource, PartitionRef, PartitionState } from '../contracts.js';
import { packEntry } from '../entry-tar.js';
import { readdirOrEmpty, readNumberOrNull, serialized, writeNumberAtomic } from './fsio.js';
import { entryPath, partitionLayout, positionPath, PRUNED_PREFIX, type PartitionLayout } from './layout.js';
import { assertLsn, isValidLogName, lsnName } from './names.js';
import { assertPartitionExists, entryLsns, listEntryLsns, readCommitted, readPartitionState, readPositions } from './state.js';

export { appendEntry, commit, createPartition, registerConsumer, type EntryContent } from './writer.js';
export { assertLogName, assertLsn, isValidLogName, lsnName, parseLsnName, LSN_WIDTH } from './names.js';

/**
 * A log source kept in plain files under `root` (layout: docs/wal-log-source.md). Several
 * processes may read it; positions of one consumer must have one writer at a time (writes to one
 * position file are serialized within a process, and the file is only ever replaced atomically).
 */
export interface FileLogSource extends ArchiverLogSource {
  /**
   * `acknowledge(p, consumer, lsn)` then `prune(p)`, as one call: the same checks, writes and
   * removals, but the committed LSN is read once and the consumer's own position is not read back
   * (the archiver does this after every entry). Returns how many entries were pruned.
   */
  acknowledgeAndPrune(p: PartitionRef, consumer: string, lsn: number): Promise<number>;
}

export function createFileLogSource(root: string): FileLogSource {
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
      const committed = await readCommittedOfExisting(l);
      if (lsn > committed) {
        throw new PermanentError(`entry ${lsn} of ${p.storage}/${p.partition} is not committed (committed LSN is ${committed}); only committed entries are read`, {
          code: 'NOT_COMMITTED',
          details: { storage: p.storage, partition: p.partition, lsn, committed },
        });
      }
      const path = entryPath(l, lsn);
      try {
        return await packEntry(path, { name: lsnName(lsn), signal });
      } catch (err) {
        // packEntry starts with an lstat of the entry: a missing entry fails there (checked again, not guessed from the error)
        if (await lstatOrNull(path)) throw err;
        const lsns = await listEntryLsns(l);
        const low = lsns[0] ?? committed + 1;
        throw new PermanentError(
          `entry ${lsn} of ${p.storage}/${p.partition} is missing${lsn < low ? ` (pruned: the lowest entry present is ${low})` : ''}`,
          { code: 'ENTRY_NOT_FOUND', details: { storage: p.storage, partition: p.partition, lsn, lowWaterMark: low } },
        );
      }
    } catch (err) {
      throw classifyError(err, `reading entry ${lsn} of ${p.storage}/${p.partition}`);
    }
  }

  /** Moves `consumer` to `lsn` (never backwards); returns its position now. `committed` was read by the caller. */
  async function moveTo(l: PartitionLayout, consumer: string, lsn: number, committed: number): Promise<number> {
    const path = positionPath(l, consumer);
    if (lsn > committed) {
      throw new PermanentError(`${consumer} cannot acknowledge LSN ${lsn} of ${l.storage}/${l.partition}: only LSNs up to ${committed} are committed`, {
        code: 'NOT_COMMITTED',
        details: { storage: l.storage, partition: l.partition, consumer, lsn, committed },
      });
    }
    return serialized(path, async () => {
      const current = await readNumberOrNull(path);
      if (current !== null && current >= lsn) return current; // never backwards; the same position again is a no-op
      if (current === null) await mkdir(l.positionsDir, { recursive: true }); // a position file implies its directory
      await writeNumberAtomic(path, lsn);
      return lsn;
    });
  }

  /**
   * Removes entries below the lowest position. `committed` may be older than now, and `known` (a
   * position this process just read or wrote) older than the file: positions and the committed LSN
   * only grow, so an older value only keeps more, never less.
   */
  async function pruneBelow(l: PartitionLayout, committed: number, known?: { consumer: string; position: number }): Promise<number> {
    return serialized(`prune:${l.dir}`, async () => {
      // one listing of entries/ serves both the leftovers and the LSNs present
      const names = await readdirOrEmpty(l.entriesDir);
      for (const name of names) if (name.startsWith(PRUNED_PREFIX)) await removeTree(join(l.entriesDir, name));
      const positions = Object.values(await readPositions(l, known));
      if (positions.length === 0) return 0; // nobody registered: nobody said what may go
      // strictly below the lowest acknowledged position, and never an uncommitted entry
      const below = Math.min(...positions, committed + 1);
      let removed = 0;
      for (const lsn of entryLsns(names)) {
        if (lsn >= below) break;
        const aside = join(l.entriesDir, `${PRUNED_PREFIX}${lsnName(lsn)}-${randomHex(6)}`);
        try {
          await rename(entryPath(l, lsn), aside); // the entry disappears at once, whole
        } catch (err) {
          if (errnoCode(err) === 'ENOENT') continue; // pruned concurrently
          throw err;
        }
        removed++;
        await removeAside(aside);
      }
      // No fsync of entries/ here: a prune lost in a crash only brings back entries below every
      // consumer's (durable) position, which the next prune removes again; nothing depends on it.
      return removed;
    });
  }

  async function acknowledge(p: PartitionRef, consumer: string, lsn: number): Promise<void> {
    const l = layout(p);
    positionPath(l, consumer); // the name is checked before anything is read
    assertLsn(lsn, 'acknowledged LSN', 0);
    try {
      await moveTo(l, consumer, lsn, await readCommittedOfExisting(l));
    } catch (err) {
      throw classifyError(err, `acknowledging LSN ${lsn} of ${p.storage}/${p.partition} for ${consumer}`);
    }
  }

  async function prune(p: PartitionRef): Promise<number> {
    const l = layout(p);
    try {
      return await pruneBelow(l, await readCommittedOfExisting(l));
    } catch (err) {
      throw classifyError(err, `pruning ${p.storage}/${p.partition}`);
    }
  }

  async function acknowledgeAndPrune(p: PartitionRef, consumer: string, lsn: number): Promise<number> {
    const l = layout(p);
    positionPath(l, consumer);
    assertLsn(lsn, 'acknowledged LSN', 0);
    let committed: number;
    let position: number;
    try {
      committed = await readCommittedOfExisting(l);
      position = await moveTo(l, consumer, lsn, committed);
    } catch (err) {
      throw classifyError(err, `acknowledging LSN ${lsn} of ${p.storage}/${p.partition} for ${consumer}`);
    }
    try {
      return await pruneBelow(l, committed, { consumer, position });
    } catch (err) {
      throw classifyError(err, `pruning ${p.storage}/${p.partition}`);
    }
  }

  return { root: abs, listPartitions, partitionState, readEntry, acknowledge, prune, acknowledgeAndPrune };
}

/**
 * The committed LSN of a partition that must exist (PermanentError PARTITION_NOT_FOUND otherwise).
 * A committed file implies the partition directory, so the directory is only checked when there is
 * none: one read instead of a stat and a read on every call (several per archived entry).
 */
async function readCommittedOfExisting(l: PartitionLayout): Promise<number> {
  let committed: number;
  try {
    committed = await readCommitted(l);
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') await assertPartitionExists(l); // something that is not a directory: PARTITION_NOT_FOUND
    throw err;
  }
  if (committed === 0) await assertPartitionExists(l);
  return committed;
}

/** Removes an entry renamed aside: one unlink for a file entry (rm would lstat twice first), the whole tree for a directory. */
async function removeAside(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES') throw err; // a directory: EISDIR on Linux, EPERM on macOS
    await removeTree(path);
  }
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
