import type { FerryError } from '../errors/index.js';

/**
 * The sender refused to continue a receiver's resume token for this step (RESUME_MISMATCH: the
 * token is of another step; RESUME_STALE: zfs can no longer resume from it; RESUME_UNSUPPORTED: the
 * sender's zfs has no `send -t`, zfs-fuse): send afresh.
 */
export function isResumeRefusal(err: unknown): boolean {
  const code = (err as FerryError | undefined)?.code;
  return code === 'RESUME_MISMATCH' || code === 'RESUME_STALE' || code === 'RESUME_UNSUPPORTED';
}
