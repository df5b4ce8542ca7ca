import { PermanentError } from '../errors/index.js';
import type { Version } from './driver.js';

/** The sender's snapshot with the wanted guid, or a PermanentError naming it (role: "from"/"to"). */
function findSnapshotByGuid<T extends { version: Version }>(snapshots: T[], fs: string, wanted: Version, role: string): T {
  const found = snapshots.find((s) => s.version.guid === wanted.guid);
  if (!found) {
    throw new PermanentError(`${role} snapshot ${fs}@${wanted.name} (guid ${wanted.guid}) does not exist on the sender`, {
      code: 'SNAPSHOT_NOT_FOUND',
      details: { fs, name: wanted.name, guid: wanted.guid },
    });
  }
  return found;
}

/**
 * The sender's snapshots of one send: `to`, and `from` for an incremental send (null for a full
 * one). PermanentError when either is missing, or NOT_NEWER when `to` is not after `from`.
 */
export function findSendPair<T extends { version: Version }>(snapshots: T[], fs: string, from: Version | null, to: Version): { toSnap: T; fromSnap: T | null } {
  const toSnap = findSnapshotByGuid(snapshots, fs, to, 'target');
  const fromSnap = from === null ? null : findSnapshotByGuid(snapshots, fs, from, 'incremental source');
  if (fromSnap && fromSnap.version.createtxg >= toSnap.version.createtxg) {
    throw new PermanentError(`cannot send ${fs} from ${fromSnap.version.name} to ${toSnap.version.name}: the target is not newer`, {
      code: 'NOT_NEWER',
      details: { fs, from: fromSnap.version.name, to: toSnap.version.name },
    });
  }
  return { toSnap, fromSnap };
}
