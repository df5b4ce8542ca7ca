import { PermanentError } from '../errors/index.js';
import type { Version } from './driver.js';

/** The sender's snapshot with the wanted guid, or a PermanentError naming it (role: "from"/"to"). */
export function findSnapshotByGuid<T extends { version: Version }>(snapshots: T[], fs: string, wanted: Version, role: string): T {
  const found = snapshots.find((s) => s.version.guid === wanted.guid);
  if (!found) {
    throw new PermanentError(`${role} snapshot ${fs}@${wanted.name} (guid ${wanted.guid}) does not exist on the sender`, {
      code: 'SNAPSHOT_NOT_FOUND',
      details: { fs, name: wanted.name, guid: wanted.guid },
    });
  }
  return found;
}
