import { realpath, rename } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import { errnoCode, lstatOrNull, randomHex, removeTree } from '../../util/fs.js';
import type { Layout } from './layout.js';
import { lockFilesystem } from './lock.js';
import { assertName } from './names.js';
import { dropIndex, writeIndex } from './snapshot-index.js';
import { listSnapshots } from './versions.js';

function notFound(layout: Layout, fs: string, name: string): PermanentError {
  return new PermanentError(`snapshot ${fs}@${name} does not exist in ${layout.root}`, { code: 'SNAPSHOT_NOT_FOUND', details: { fs, name } });
}

/**
 * Destroy `fs@name` and nothing else. The other snapshots do not depend on it: each has its own
 * complete tree and manifest, and the files it shares with them are hard links, so removing its
 * names leaves their inodes (and modes: only this snapshot's own directories are ever chmod-ed to
 * remove them) as they are. The directory is first renamed into the staging area, so the version
 * disappears at once and a crash halfway leaves only staging, which the next lock holder clears.
 */
export async function destroySnapshot(layout: Layout, fs: string, name: string): Promise<void> {
  assertName('filesystem', fs);
  assertName('snapshot', name);
  // before the lock, which would create .ferry (and the root) for a snapshot that is not there
  if (!(await lstatOrNull(layout.snapshotDir(fs, name)))) throw notFound(layout, fs, name);
  // under the lock: a snapshot or receive of `fs` links files from one of its versions meanwhile
  const lock = await lockFilesystem(layout, fs);
  try {
    const versions = (await listSnapshots(layout, fs)).map((s) => s.version);
    if (!versions.some((v) => v.name === name)) throw notFound(layout, fs, name);
    await assertNotVisible(layout, fs, name);
    const doomed = join(layout.tmpDir(fs), `destroy-${randomHex(6)}`);
    await dropIndex(layout, fs);
    await rename(layout.snapshotDir(fs, name), doomed);
    await writeIndex(layout, fs, versions.filter((v) => v.name !== name));
    await removeTree(doomed);
  } finally {
    await lock.release();
  }
}

/**
 * On a receiver `<root>/<fs>` is a symlink to its newest snapshot's tree: that snapshot is what
 * readers see, so it stays until a newer version replaces it.
 */
async function assertNotVisible(layout: Layout, fs: string, name: string): Promise<void> {
  const visible = await realpath(layout.visible(fs)).catch((err) => (errnoCode(err) === 'ENOENT' ? null : Promise.reject(err)));
  const snapshot = await realpath(layout.snapshotDir(fs, name));
  if (visible !== null && (visible === snapshot || visible.startsWith(`${snapshot}${sep}`))) {
    throw new PermanentError(
      `cannot destroy ${fs}@${name} in ${layout.root}: ${layout.visible(fs)} is that snapshot's tree (the newest version received); it can go once a newer version has been received`,
      { code: 'SNAPSHOT_IN_USE', details: { fs, name } },
    );
  }
}
