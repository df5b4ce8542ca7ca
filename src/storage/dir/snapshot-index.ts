import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { Version } from '../driver.js';
import { errnoCode, writeFileAtomic } from '../../util/fs.js';
import { decodeIndex, encodeIndex, type DirIdentity } from './index-format.js';
import type { Layout } from './layout.js';

/**
 * `.ferry/indexes/<fs>.json`: every version of one filesystem in one file, so a listing reads one
 * file instead of a meta.json per snapshot. It is derived data, never the truth: the snapshot
 * directories are. Its text is index-format.ts's line format (no longer JSON: the name is v1's, so
 * that an older and a newer ferry each find the other's index, do not trust it, and replace it).
 * The rules that keep it true (docs/dir-driver.md, "Index"):
 *
 * - Only a holder of the filesystem's lock writes it, with write-temp + fsync + rename.
 * - A writer removes it before it adds or removes a snapshot directory and writes it again once
 *   done, so a crash in between leaves no index, never a stale one.
 * - It records the identity (inode, mtime in ns, link count, size) of `.ferry/snapshots/<fs>` as
 *   the writer left it: one stat tells a reader whether the directory changed since. A reader that
 *   finds it changed (someone went around the lock: an older ferry, a person) compares the names;
 *   when they differ too it lists the directories instead.
 * - A missing, unreadable or older-format index is rebuilt by the next lock holder (lockFilesystem).
 */
async function dirIdentity(path: string): Promise<DirIdentity | null> {
  try {
    const st = await stat(path, { bigint: true });
    return { ino: String(st.ino), mtimeNs: String(st.mtimeNs), nlink: String(st.nlink), size: String(st.size) };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

const sameDir = (a: DirIdentity, b: DirIdentity) => a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.nlink === b.nlink && a.size === b.size;

/**
 * The versions of `fs` from its index, oldest first, or null when the index cannot be trusted
 * (missing, unreadable, of another format, or disagreeing with the snapshot directories): the
 * caller then reads every snapshot's meta.json.
 */
export async function readIndex(layout: Layout, fs: string): Promise<Version[] | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(layout.indexFile(fs));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  // ASCII by construction (index-format.ts): latin1 is exact, and far cheaper than decoding UTF-8
  const index = decodeIndex(bytes.toString('latin1'), fs);
  if (index === null) return null; // torn, hand-edited or of another format: derived data, so listed from the directories instead
  const now = await dirIdentity(layout.snapshotsDir(fs));
  if (now === null) return null;
  if (sameDir(now, index.dir)) return index.versions;
  // changed since the index was written, by someone who did not keep it: the same names still do
  const names = await readdir(layout.snapshotsDir(fs));
  if (names.length !== index.versions.length) return null;
  const listed = new Set(names);
  return index.versions.every((v) => listed.has(v.name)) ? index.versions : null;
}

/** Before a lock holder adds or removes a snapshot directory of `fs`: no index until it writes one again. */
export async function dropIndex(layout: Layout, fs: string): Promise<void> {
  await rm(layout.indexFile(fs), { force: true });
}

/**
 * The index of `fs` as the lock holder knows it now, `versions` being every version of `fs`. Best
 * effort: a write that fails (a full disk) leaves no index, so listings read the metas until the
 * next lock holder writes it; the snapshot, receive or destroy it follows has happened all the same.
 */
export async function writeIndex(layout: Layout, fs: string, versions: readonly Version[]): Promise<void> {
  try {
    await writeIndexOrThrow(layout, fs, versions);
  } catch {
    await dropIndex(layout, fs).catch(() => undefined);
  }
}

async function writeIndexOrThrow(layout: Layout, fs: string, versions: readonly Version[]): Promise<void> {
  const dir = await dirIdentity(layout.snapshotsDir(fs));
  if (dir === null) return; // no snapshot directory, nothing to index: listings find none without it
  await mkdir(layout.indexesDir, { recursive: true });
  await writeFileAtomic(layout.indexFile(fs), Buffer.from(encodeIndex(fs, dir, versions), 'latin1'));
}
