import { PermanentError } from '../../errors/index.js';
import { acquireLock } from '../dir/lock.js';
import { assertOnBtrfs, type Layout } from './layout.js';
import { assertName } from './names.js';
import { runBtrfs } from './run-btrfs.js';
import { isSubvolume, showSubvolume } from './subvolume.js';

function notFound(layout: Layout, fs: string, name: string, why = 'does not exist'): PermanentError {
  return new PermanentError(`snapshot ${fs}@${name} ${why} in ${layout.root}`, { code: 'SNAPSHOT_NOT_FOUND', details: { fs, name } });
}

/**
 * `btrfs subvolume delete` of the read-only snapshot `<root>/.ferry/snapshots/<fs>/<name>`, nothing
 * else: never a filesystem's live subvolume, never a writable subvolume (what an interrupted receive
 * left: not a version; the next receive removes it). Other snapshots share extents with it, not
 * the subvolume itself, so they are unaffected. Under the filesystem's receive lock: a receive
 * of `fs` clones from its parent snapshot meanwhile.
 */
export async function destroySnapshot(layout: Layout, fs: string, name: string): Promise<void> {
  assertName('filesystem', fs);
  assertName('snapshot', name);
  const path = layout.snapshotPath(fs, name);
  // before the lock, which would create .ferry/locks for a snapshot that is not there
  if (!(await isSubvolume(path))) throw notFound(layout, fs, name);
  await assertOnBtrfs(layout.root);
  const release = await acquireLock(layout.lockFile(fs), `btrfs filesystem ${fs} of ${layout.root}`);
  try {
    if (!(await isSubvolume(path))) throw notFound(layout, fs, name);
    if (!(await showSubvolume(path)).readonly) throw notFound(layout, fs, name, 'is not a version (a writable subvolume: what an interrupted receive left; the next receive removes it)');
    await runBtrfs(['-q', 'subvolume', 'delete', path]);
  } finally {
    await release();
  }
}
