import { eachLimited } from '../../util/each-limited.js';
import { lstat, mkdir } from 'node:fs/promises';
import { InvalidArgumentError, PermanentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { assertDistinct } from '../names.js';
import { assertOnBtrfs, type Layout } from './layout.js';
import { assertName } from './names.js';
import { runBtrfs } from './run-btrfs.js';
import { isSubvolume, listReadonly, showSubvolume, toVersion } from './subvolume.js';

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(err)),
  );
}

/** `btrfs subvolume snapshot` processes running at once */
const SNAPSHOTS_AT_ONCE = 4;

/**
 * `btrfs subvolume snapshot -r <root>/<fs> <root>/.ferry/snapshots/<fs>/<name>` for each filesystem,
 * a few at once (not at one instant: capabilities.atomicSnapshots is false). Everything is
 * checked first; if one fails, the snapshots this call already took are deleted again.
 */
export async function takeSnapshots(layout: Layout, filesystems: string[], name: string): Promise<Version[]> {
  if (!Array.isArray(filesystems)) throw new InvalidArgumentError('filesystems must be a list of names', { code: 'INVALID_ARGUMENT' });
  for (const fs of filesystems) assertName('filesystem', fs);
  assertName('snapshot', name);
  assertDistinct(filesystems);
  await assertOnBtrfs(layout.root);
  for (const fs of filesystems) {
    if (!(await isSubvolume(layout.live(fs)))) {
      throw new PermanentError(`filesystem ${fs} is not a subvolume in ${layout.root}`, { code: 'NOT_FOUND', details: { fs } });
    }
    if (await exists(layout.snapshotPath(fs, name))) {
      throw new PermanentError(`snapshot ${fs}@${name} already exists in ${layout.root}`, { code: 'SNAPSHOT_EXISTS', details: { fs, name } });
    }
  }
  const taken: string[] = [];
  const paths = filesystems.map((fs) => layout.snapshotPath(fs, name));
  try {
    // a few at once: each is a process and a wait for btrfs's transaction commit, which
    // snapshots taken together share; the first failure stops the others from starting
    await eachLimited(filesystems.length, SNAPSHOTS_AT_ONCE, async (i) => {
      await mkdir(layout.snapshotsDir(filesystems[i]), { recursive: true });
      await runBtrfs(['-q', 'subvolume', 'snapshot', '-r', layout.live(filesystems[i]), paths[i]]);
      taken.push(paths[i]);
    });
    // one listing describes every new snapshot (a `show` each would scan the filesystem each time)
    const listed = await listReadonly(layout);
    const versions: Version[] = [];
    for (const path of paths) versions.push(toVersion(name, listed.get(path) ?? (await showSubvolume(path))));
    return versions;
  } catch (err) {
    for (const path of taken.reverse()) await runBtrfs(['-q', 'subvolume', 'delete', path]).catch(() => undefined);
    throw err;
  }
}
