import { readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../errors/index.js';
import { errnoCode, lstatOrNull } from '../../util/fs.js';

/**
 * Where everything lives under one root (see docs/dir-driver.md):
 *   <root>/<fs>                                  the filesystem (real dir on a sender, symlink on a receiver)
 *   <root>/.ferry/snapshots/<fs>/<snap>/data/    the snapshot's tree
 *   <root>/.ferry/snapshots/<fs>/<snap>/meta.json, manifest.json
 *   <root>/.ferry/indexes/<fs>.json              every version of <fs> in one file (snapshot-index.ts)
 *   <root>/.ferry/counter                        last createtxg handed out
 *   <root>/.ferry/tmp/<fs>/                      staging, on the same device so rename() is atomic
 *   <root>/.ferry/locks/<fs>/                    the lease of whoever snapshots/receives/destroys in <fs> (lock.ts)
 */
export const META_DIR = '.ferry';

export interface Layout {
  root: string;
  meta: string;
  counterFile: string;
  locksDir: string;
  indexesDir: string;
  indexFile(fs: string): string;
  lockFile(fs: string): string;
  /** lease of the locks, in milliseconds (lock.ts DEFAULT_LOCK_LEASE_MS) */
  lockLeaseMs?: number;
  tmpDir(fs: string): string;
  snapshotsDir(fs: string): string;
  snapshotDir(fs: string, snap: string): string;
  visible(fs: string): string;
  /** the target of a receiver's visible symlink, relative to the root so the root can move */
  visibleTarget(fs: string, snap: string): string;
}

export function makeLayout(root: string, opts: { lockLeaseMs?: number } = {}): Layout {
  const meta = join(root, META_DIR);
  const snapshotsDir = (fs: string) => join(meta, 'snapshots', fs);
  const snapshotDir = (fs: string, snap: string) => join(snapshotsDir(fs), snap);
  return {
    root,
    meta,
    lockLeaseMs: opts.lockLeaseMs,
    counterFile: join(meta, 'counter'),
    locksDir: join(meta, 'locks'),
    indexesDir: join(meta, 'indexes'),
    indexFile: (fs) => join(meta, 'indexes', `${fs}.json`),
    lockFile: (fs) => join(meta, 'locks', fs),
    tmpDir: (fs) => join(meta, 'tmp', fs),
    snapshotsDir,
    snapshotDir,
    visible: (fs) => join(root, fs),
    visibleTarget: (fs, snap) => `${META_DIR}/snapshots/${fs}/${snap}/data`,
  };
}

export async function assertRootExists(layout: Layout): Promise<void> {
  const st = await lstatOrNull(layout.root);
  // the endpoint a person named: bad input, not a failure of the driver
  if (!st) throw new InvalidArgumentError(`dir root ${layout.root} does not exist`, { code: 'NOT_FOUND', details: { path: layout.root } });
  if (!(await stat(layout.root)).isDirectory()) {
    throw new InvalidArgumentError(`dir root ${layout.root} is not a directory`, { code: 'NOT_A_DIRECTORY', details: { path: layout.root } });
  }
}

/** Whether <root>/<fs> is the receiver's symlink to `snap`'s tree. */
export async function isVisible(layout: Layout, fs: string, snap: string): Promise<boolean> {
  try {
    return (await readlink(layout.visible(fs))) === layout.visibleTarget(fs, snap);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'EINVAL') return false;
    throw err;
  }
}
