import { mkdir, readdir, readlink, rename, rmdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { errnoCode, lstatOrNull, randomHex, removeTree } from '../../util/fs.js';
import { isVisible, META_DIR, type Layout } from './layout.js';
import type { Manifest } from './manifest.js';
import { dropIndex, writeIndex } from './snapshot-index.js';
import { META_FILE, PENDING_META_FILE, writeSnapshotFiles, type SnapshotMeta } from './versions.js';

/**
 * The commit of a receive, with one commit point: the rename() that repoints <root>/<fs>.
 *
 * 1. The staging gets manifest.json and its meta as meta.pending.json, and is renamed to
 *    .ferry/snapshots/<fs>/<name>. A snapshot with only pending meta is not a version.
 * 2. A fresh symlink to its data replaces <root>/<fs> with one rename(): the commit point. From
 *    here a pending snapshot that <root>/<fs> points at is a version (listSnapshots).
 * 3. meta.pending.json is renamed to meta.json: tidying, so the version stays one once a newer
 *    receive repoints <root>/<fs>.
 * 4. The index of <fs> (snapshot-index.ts), dropped before step 1's rename, is written again.
 *
 * A crash anywhere leaves the receiver as before step 2 or as after it: the next lock holder
 * settles it (settleReceives): rolls a visible pending snapshot forward (step 3) and removes an
 * invisible one.
 */
export async function commitReceive(
  layout: Layout, fs: string, staging: string, meta: SnapshotMeta, manifest: Manifest, beforeCommitPoint: () => Promise<void>,
  existing: readonly Version[],
): Promise<Version> {
  await writeSnapshotFiles(staging, meta, manifest, { pending: true });
  const final = layout.snapshotDir(fs, meta.name);
  await mkdir(layout.snapshotsDir(fs), { recursive: true });
  await dropIndex(layout, fs); // rebuilt by the next lock holder if a crash stops us before the end
  await rename(staging, final);
  try {
    await beforeCommitPoint();
    await pointVisible(layout, fs, meta.name);
  } catch (err) {
    await rename(final, staging); // back to staging, removed by the caller: as if never received
    throw err;
  }
  await rename(join(final, PENDING_META_FILE), join(final, META_FILE));
  const version: Version = { name: meta.name, guid: meta.guid, createtxg: meta.createtxg, creation: meta.creation };
  await writeIndex(layout, fs, [...existing, version]);
  return version;
}

/**
 * Finish or undo what a crashed receive left at its commit (under the filesystem's lock): a
 * pending snapshot <root>/<fs> points at was received, one it does not point at was not.
 */
export async function settleReceives(layout: Layout, fs: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(layout.snapshotsDir(fs));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    const dir = layout.snapshotDir(fs, name);
    if (!(await lstatOrNull(join(dir, PENDING_META_FILE)))) continue;
    if (await isVisible(layout, fs, name)) {
      await rename(join(dir, PENDING_META_FILE), join(dir, META_FILE));
    } else {
      const doomed = join(layout.tmpDir(fs), `abandoned-${randomHex(6)}`);
      await rename(dir, doomed);
      await removeTree(doomed);
    }
  }
}

/**
 * <root>/<fs> on a receiver is a symlink the driver owns. Anything else there (a sender's tree,
 * a person's files) is not overwritten; an empty directory is taken over.
 */
export async function assertVisibleReplaceable(layout: Layout, fs: string): Promise<'absent' | 'ours' | 'empty-dir'> {
  const path = layout.visible(fs);
  const st = await lstatOrNull(path);
  if (!st) return 'absent';
  if (st.isSymbolicLink() && (await readlink(path)).startsWith(`${META_DIR}/snapshots/${fs}/`)) return 'ours';
  if (st.isDirectory() && (await readdir(path)).length === 0) return 'empty-dir';
  throw new PermanentError(`refusing to receive ${fs}: ${path} exists and was not created by the receiver`, {
    code: 'CONFLICT_NOT_RECEIVER',
    details: { fs, path },
  });
}

/** Repoint <root>/<fs> at the new snapshot with one rename() of a fresh symlink. */
async function pointVisible(layout: Layout, fs: string, snap: string): Promise<void> {
  const state = await assertVisibleReplaceable(layout, fs);
  const tmp = join(layout.tmpDir(fs), `link-${randomHex(6)}`);
  await symlink(layout.visibleTarget(fs, snap), tmp);
  if (state === 'empty-dir') await rmdir(layout.visible(fs)); // rename() cannot replace a directory with a symlink
  await rename(tmp, layout.visible(fs));
}
