import type { DriverCapabilities, StorageDriver } from '../driver.js';

/**
 * What a driver of each kind can do. Only `batch` changes a plan (zfs send -I). Atomic snapshots are
 * not used through an agent (reported false). Resumable receives are: the step runner asks the
 * receiving agent for a token (ResumeToken, "" on zfs-fuse) and the sending agent's zfs decides.
 */
export const REMOTE_CAPABILITIES: Record<StorageDriver['kind'], DriverCapabilities> = {
  dir: { batch: false, resumable: false, atomicSnapshots: false },
  btrfs: { batch: false, resumable: false, atomicSnapshots: false },
  zfs: { batch: true, resumable: false, atomicSnapshots: false },
};

/** Whether a remote driver of this kind has `resumeToken`: only zfs receives can resume. */
export function resumes(kind: StorageDriver['kind']): boolean {
  return kind === 'zfs';
}

/** Whether a remote driver of this kind has `receiveProtocol`: only btrfs streams have versions to choose from. */
export function describesReceiver(kind: StorageDriver['kind']): boolean {
  return kind === 'btrfs';
}
