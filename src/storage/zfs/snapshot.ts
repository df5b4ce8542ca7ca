import { InvalidArgumentError, PermanentError, type FerryError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { assertDistinct } from '../names.js';
import { listDescendants, readSnapshotVersions, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName } from './names.js';
import { runZfs, zfsLog } from './run-zfs.js';

function exists(err: unknown, full: string[]): unknown {
  if ((err as FerryError | null)?.code === 'ALREADY_EXISTS') {
    return new PermanentError(`snapshot already exists: ${(err as Error).message}`, { code: 'SNAPSHOT_EXISTS', cause: err, details: { snapshots: full } });
  }
  return err;
}

/**
 * `zfs snapshot fs1@name fs2@name ...`: one atomic call where zfs takes several names (OpenZFS).
 * zfs-fuse takes one name per call: all filesystems of the endpoint are then taken with one
 * `snapshot -r` (one instant); a subset one at a time, and when one fails the snapshots this call
 * already took are destroyed again (all or nothing, but not one instant).
 */
export async function takeSnapshots(ctx: ZfsContext, filesystems: string[], name: string): Promise<Version[]> {
  if (!Array.isArray(filesystems)) throw new InvalidArgumentError('filesystems must be an array', { code: 'INVALID_ARGUMENT' });
  for (const fs of filesystems) assertZfsName('filesystem', fs);
  assertZfsName('snapshot', name);
  assertDistinct(filesystems);
  const full = filesystems.map((fs) => `${ctx.dataset(fs)}@${name}`);
  full.forEach(assertFullName);
  if (full.length === 0) return [];

  if (zfsFeatures().multiSnapshot) {
    try {
      await runZfs(['snapshot', ...full]);
    } catch (err) {
      throw exists(err, full);
    }
    return readSnapshotVersions(full);
  }

  // every filesystem of the endpoint: `zfs snapshot -r` of the root takes them all in one instant;
  // the root's own snapshot (the root is a container, not a filesystem) is destroyed right after
  const all = await listDescendants(ctx);
  if (all.length === filesystems.length && all.every((fs) => filesystems.includes(fs))) {
    const rootSnap = `${ctx.root}@${name}`;
    try {
      await runZfs(['snapshot', '-r', rootSnap]);
    } catch (err) {
      throw exists(err, full);
    }
    await runZfs(['destroy', rootSnap]).catch((err) => zfsLog().warn({ snapshot: rootSnap, err: (err as Error).message }, 'could not destroy the root snapshot of a recursive snapshot'));
    return readSnapshotVersions(full);
  }

  const taken: string[] = [];
  try {
    for (const snap of full) {
      await runZfs(['snapshot', snap]);
      taken.push(snap);
    }
  } catch (err) {
    // undo only what this call created
    for (const snap of taken.reverse()) {
      try {
        await runZfs(['destroy', snap]);
      } catch (undoErr) {
        zfsLog().warn({ snapshot: snap, err: (undoErr as Error).message }, 'could not destroy a snapshot of a failed multi-filesystem snapshot');
      }
    }
    throw exists(err, full);
  }
  return readSnapshotVersions(full);
}
