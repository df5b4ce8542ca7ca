import { mkdir, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, PermanentError } from '../../errors/index.js';

/**
 * Where everything lives under one root (see docs/btrfs-driver.md):
 *   <root>/<fs>                              a filesystem: a writable subvolume (sender)
 *   <root>/.ferry/snapshots/<fs>/<snap>      a read-only snapshot, taken here or received
 *   <root>/.ferry/locks/<fs>                 who is receiving into <fs>
 */
export const META_DIR = '.ferry';
/** statfs f_type of btrfs */
const BTRFS_SUPER_MAGIC = 0x9123683e;
/** inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID) */
export const SUBVOLUME_INO = 256;

export interface Layout {
  root: string;
  meta: string;
  live(fs: string): string;
  snapshotsRoot: string;
  snapshotsDir(fs: string): string;
  snapshotPath(fs: string, snap: string): string;
  lockFile(fs: string): string;
}

export function makeLayout(root: string): Layout {
  const meta = join(root, META_DIR);
  const snapshotsRoot = join(meta, 'snapshots');
  return {
    root,
    meta,
    live: (fs) => join(root, fs),
    snapshotsRoot,
    snapshotsDir: (fs) => join(snapshotsRoot, fs),
    snapshotPath: (fs, snap) => join(snapshotsRoot, fs, snap),
    lockFile: (fs) => join(meta, 'locks', fs),
  };
}

/** Throws PermanentError unless `path` exists and is on a btrfs filesystem. */
export async function assertOnBtrfs(path: string): Promise<void> {
  let type: number;
  try {
    type = (await statfs(path)).type;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InvalidArgumentError(`btrfs root ${path} does not exist`, { code: 'NOT_FOUND', details: { path } });
    }
    throw err;
  }
  if (type !== BTRFS_SUPER_MAGIC) {
    throw new PermanentError(`${path} is not on a btrfs filesystem (statfs type 0x${type.toString(16)})`, { code: 'NOT_BTRFS', details: { path } });
  }
}

/**
 * mkdir -p `path`, but only below a directory on btrfs: the nearest existing ancestor is checked
 * first, so nothing is created on another filesystem; then `path` itself (a mount point in between).
 */
export async function makeRootOnBtrfs(path: string): Promise<void> {
  let existing = path;
  for (;;) {
    try {
      await statfs(existing);
      break;
    } catch (err) {
      const parent = dirname(existing);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === existing) throw err;
      existing = parent;
    }
  }
  await assertOnBtrfs(existing);
  if (existing !== path) await mkdir(path, { recursive: true });
  await assertOnBtrfs(path);
}
