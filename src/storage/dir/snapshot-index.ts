import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { Version } from '../driver.js';
import { errnoCode, writeFileAtomic } from '../../util/fs.js';
import type { Layout } from './layout.js';

/**
 * `.ferry/indexes/<fs>.json`: every version of one filesystem in one file, so a listing reads one
 * file instead of a meta.json per snapshot. It is derived data, never the truth: the snapshot
 * directories are. The rules that keep it true (docs/dir-driver.md, "Index"):
 *
 * - Only a holder of the filesystem's lock writes it, with write-temp + fsync + rename.
 * - A writer removes it before it adds or removes a snapshot directory and writes it again once
 *   done, so a crash in between leaves no index, never a stale one.
 * - It records the identity (inode, mtime in ns) of `.ferry/snapshots/<fs>` as the writer left it.
 *   A reader that finds the directory changed since (someone went around the lock: an older
 *   ferry, a person) compares the names; when they differ too it lists the directories instead.
 * - A missing or unreadable index is rebuilt by the next lock holder (lockFilesystem).
 */
export const INDEX_FORMAT = 'ferry-dir-index-v1';

/** [name, guid, createtxg, creation]: arrays, not objects, since 10,000 of them are parsed per listing */
type IndexEntry = [string, string, number, string | null];

interface IndexFile {
  format: typeof INDEX_FORMAT;
  fs: string;
  /** `.ferry/snapshots/<fs>` as the writer left it: st_ino and st_mtime in ns, as decimal strings */
  dir: { ino: string; mtimeNs: string };
  snapshots: IndexEntry[];
}

async function dirIdentity(path: string): Promise<IndexFile['dir'] | null> {
  try {
    const st = await stat(path, { bigint: true });
    return { ino: String(st.ino), mtimeNs: String(st.mtimeNs) };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

function toVersions(entries: unknown): Version[] | null {
  if (!Array.isArray(entries)) return null;
  const out: Version[] = new Array(entries.length);
  let sorted = true;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as unknown[];
    if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'string' || !Number.isSafeInteger(e[2])) return null;
    out[i] = e[3] == null ? { name: e[0], guid: e[1], createtxg: e[2] as number } : { name: e[0], guid: e[1], createtxg: e[2] as number, creation: String(e[3]) };
    if (i > 0 && out[i - 1].createtxg > out[i].createtxg) sorted = false;
  }
  return sorted ? out : out.sort((a, b) => a.createtxg - b.createtxg); // written in order: sorted only when edited by hand
}

/**
 * The versions of `fs` from its index, oldest first, or null when the index cannot be trusted
 * (missing, unreadable, of another format, or disagreeing with the snapshot directories): the
 * caller then reads every snapshot's meta.json.
 */
export async function readIndex(layout: Layout, fs: string): Promise<Version[] | null> {
  let text: string;
  try {
    text = await readFile(layout.indexFile(fs), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  let index: Partial<IndexFile>;
  try {
    index = JSON.parse(text) as Partial<IndexFile>;
  } catch {
    return null; // torn or hand-edited: derived data, so listed from the directories instead
  }
  if (index?.format !== INDEX_FORMAT || index.fs !== fs) return null;
  const versions = toVersions(index.snapshots);
  if (versions === null) return null;
  const now = await dirIdentity(layout.snapshotsDir(fs));
  if (now === null) return null;
  if (now.ino === index.dir?.ino && now.mtimeNs === index.dir.mtimeNs) return versions;
  // changed since the index was written, by someone who did not keep it: the same names still do
  const names = await readdir(layout.snapshotsDir(fs));
  if (names.length !== versions.length) return null;
  const listed = new Set(names);
  return versions.every((v) => listed.has(v.name)) ? versions : null;
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
  const sorted = [...versions].sort((a, b) => a.createtxg - b.createtxg);
  const index: IndexFile = {
    format: INDEX_FORMAT, fs, dir,
    snapshots: sorted.map((v) => [v.name, v.guid, v.createtxg, v.creation ?? null]),
  };
  await mkdir(layout.indexesDir, { recursive: true });
  await writeFileAtomic(layout.indexFile(fs), JSON.stringify(index));
}
