import { link, mkdir, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, PermanentError } from '../../errors/index.js';
import { classifyError, errnoCode, lstatOrNull, randomHex, removeTree, writeFileSynced } from '../../util/fs.js';
import { serialized, syncDir, writeNumberAtomic } from './fsio.js';
import { APPEND_PREFIX, entryPath, partitionLayout, positionPath } from './layout.js';
import { assertLsn, lsnName } from './names.js';
import { readCommitted } from './state.js';

/**
 * The writing side of a file log source, as a storage node (or a test, the demo, the benchmark)
 * uses it: append entries, commit them, register consumers. The archiver only reads, acknowledges
 * and prunes (see index.ts).
 */

export type EntryContent = Buffer | Record<string, Buffer>;

function assertContentPath(rel: string): void {
  const segments = rel.split('/');
  const bad = rel.length === 0 || rel.startsWith('/') || rel.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw new InvalidArgumentError(`invalid path ${JSON.stringify(rel)} in entry content: must be a relative path without '.', '..' or empty segments`, {
      code: 'INVALID_PATH',
      details: { path: rel },
    });
  }
}


/**
 * Appends entry `lsn` (appended, not committed: consumers do not see it until `commit`). A Buffer
 * makes a file entry, a record of relative path -> Buffer a directory entry (intermediate
 * directories are created; `{}` is an empty directory). The entry is written under a hidden
 * staging name in entries/ and renamed into place, so it appears complete or not at all.
 * Refused: an LSN at or below the committed LSN (PermanentError ALREADY_COMMITTED) and an LSN that
 * exists (PermanentError ENTRY_EXISTS): entries are never rewritten.
 */
export async function appendEntry(root: string, storage: string, partition: string, lsn: number, content: EntryContent): Promise<void> {
  const l = partitionLayout(root, { storage, partition });
  assertLsn(lsn, 'LSN');
  const isFile = Buffer.isBuffer(content);
  if (!isFile) {
    if (content === null || typeof content !== 'object') {
      throw new InvalidArgumentError('entry content must be a Buffer (file entry) or a record of path -> Buffer (directory entry)', { code: 'INVALID_ARGUMENT' });
    }
    for (const [rel, data] of Object.entries(content)) {
      assertContentPath(rel);
      if (!Buffer.isBuffer(data)) throw new InvalidArgumentError(`entry content for ${JSON.stringify(rel)} is not a Buffer`, { code: 'INVALID_ARGUMENT' });
    }
  }
  const target = entryPath(l, lsn);
  const staging = join(l.entriesDir, `${APPEND_PREFIX}${lsnName(lsn)}-${randomHex(6)}`);
  try {
    const committed = await readCommitted(l);
    if (lsn <= committed) {
      throw new PermanentError(`cannot append LSN ${lsn} to ${storage}/${partition}: LSN ${committed} is committed already`, {
        code: 'ALREADY_COMMITTED',
        details: { storage, partition, lsn, committed },
      });
    }
    await mkdir(l.entriesDir, { recursive: true });
    if (await lstatOrNull(target)) throw entryExists(storage, partition, lsn);
    if (isFile) {
      await writeFileSynced(staging, content);
      // link() fails with EEXIST instead of replacing, so a concurrent append of the same LSN cannot be overwritten
      try {
        await link(staging, target);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') throw entryExists(storage, partition, lsn);
        throw err;
      }
    } else {
      await mkdir(staging, { mode: 0o755 });
      for (const rel of Object.keys(content).sort()) {
        const path = join(staging, ...rel.split('/'));
        await mkdir(dirname(path), { recursive: true });
        await writeFileSynced(path, content[rel]);
      }
      if (await lstatOrNull(target)) throw entryExists(storage, partition, lsn);
      try {
        await rename(staging, target); // fails (ENOTEMPTY/EEXIST/ENOTDIR) rather than replace a non-empty entry
      } catch (err) {
        if (['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(errnoCode(err) ?? '')) throw entryExists(storage, partition, lsn);
        throw err;
      }
    }
    await syncDir(l.entriesDir);
  } catch (err) {
    throw classifyError(err, `appending LSN ${lsn} to ${storage}/${partition}`);
  } finally {
    if (isFile) await unlink(staging).catch(() => undefined);
    else await removeTree(staging).catch(() => undefined);
  }
}

function entryExists(storage: string, partition: string, lsn: number): PermanentError {
  return new PermanentError(`entry ${lsn} of ${storage}/${partition} exists already; entries are never rewritten`, {
    code: 'ENTRY_EXISTS',
    details: { storage, partition, lsn },
  });
}

/**
 * Marks every entry up to `lsn` committed (consumers now see them). Every entry between the
 * committed LSN and `lsn` must be present (PermanentError ENTRY_NOT_FOUND naming the first missing
 * one). The committed LSN never goes back (PermanentError COMMIT_BACKWARDS); committing the current
 * LSN again is a no-op. The file is replaced atomically (write temp + rename).
 */
export async function commit(root: string, storage: string, partition: string, lsn: number): Promise<void> {
  const l = partitionLayout(root, { storage, partition });
  assertLsn(lsn, 'LSN', 0);
  try {
    await serialized(l.committedFile, async () => {
      const committed = await readCommitted(l);
      if (lsn === committed) return;
      if (lsn < committed) {
        throw new PermanentError(`cannot commit LSN ${lsn} of ${storage}/${partition}: LSN ${committed} is committed already (the committed LSN never goes back)`, {
          code: 'COMMIT_BACKWARDS',
          details: { storage, partition, lsn, committed },
        });
      }
      for (let n = committed + 1; n <= lsn; n++) {
        if (!(await lstatOrNull(entryPath(l, n)))) {
          throw new PermanentError(`cannot commit LSN ${lsn} of ${storage}/${partition}: entry ${n} was never appended`, {
            code: 'ENTRY_NOT_FOUND',
            details: { storage, partition, lsn: n },
          });
        }
      }
      await writeNumberAtomic(l.committedFile, lsn);
    });
    await signalCommit(root);
  } catch (err) {
    throw classifyError(err, `committing LSN ${lsn} of ${storage}/${partition}`);
  }
}

/** The file a watching archiver listens to (fs.watch on the root) to learn of commits at once. */
export const COMMIT_SIGNAL = '.commit-signal';

/** Tells a watching archiver that something was committed; rescans still cover a missed signal. */
async function signalCommit(root: string): Promise<void> {
  const now = new Date();
  await utimes(join(resolve(root), COMMIT_SIGNAL), now, now).catch(async () => writeFile(join(resolve(root), COMMIT_SIGNAL), ''));
}

/**
 * Registers `consumer` on the partition at position `lsn` (default 0: nothing acknowledged), so
 * pruning waits for it. An already registered consumer keeps its position (never moved backwards).
 */
export async function registerConsumer(root: string, storage: string, partition: string, consumer: string, lsn = 0): Promise<void> {
  const l = partitionLayout(root, { storage, partition });
  const path = positionPath(l, consumer);
  assertLsn(lsn, 'position', 0);
  try {
    await mkdir(l.positionsDir, { recursive: true });
    await serialized(path, async () => {
      if (await lstatOrNull(path)) return;
      await writeNumberAtomic(path, lsn);
    });
  } catch (err) {
    throw classifyError(err, `registering consumer ${consumer} on ${storage}/${partition}`);
  }
}

/** Creates an empty partition (no entries, nothing committed), e.g. before registering consumers. */
export async function createPartition(root: string, storage: string, partition: string): Promise<void> {
  const l = partitionLayout(resolve(root), { storage, partition });
  try {
    await mkdir(l.entriesDir, { recursive: true });
    await mkdir(l.positionsDir, { recursive: true });
  } catch (err) {
    throw classifyError(err, `creating partition ${storage}/${partition}`);
  }
}
