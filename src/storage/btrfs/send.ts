import { findSendPair } from '../find-snapshot.js';
import type { SendStream, Version } from '../driver.js';
import type { Layout } from './layout.js';
import { assertName, assertVersionArgument } from './names.js';
import { processOutput, runBtrfs, spawnBtrfs } from './run-btrfs.js';
import { listSnapshots, recentListing, type Snapshot } from './subvolume.js';

/**
 * `btrfs send [-p <from>] <to>`: both found on the sender by guid. The stream ends only after
 * btrfs send exited 0 (a failure destroys it with a typed error); abort or destroy kills btrfs send.
 */
export async function createSendStream(layout: Layout, fs: string, from: Version | null, to: Version, signal?: AbortSignal): Promise<SendStream> {
  const { toSnap, fromSnap } = await findSendVersions(layout, fs, from, to, signal);
  const sizeEstimate = fromSnap ? undefined : await estimateFullSend(toSnap.path, signal);
  const proc = spawnBtrfs(sendArgs(toSnap, fromSnap), { signal });
  return { stream: processOutput(proc), sizeEstimate };
}

export function sendArgs(toSnap: Snapshot, fromSnap: Snapshot | null): string[] {
  return ['-q', 'send', ...(fromSnap ? ['-p', fromSnap.path] : []), toSnap.path];
}

/**
 * The step's versions on the sender, found by guid in a recent listing without creation times
 * (recentListing: steps share it; the receiving end checks the UUID it got); `to` must be newer
 * than `from`.
 */
export async function findSendVersions(layout: Layout, fs: string, from: Version | null, to: Version, signal?: AbortSignal): Promise<{ toSnap: Snapshot; fromSnap: Snapshot | null }> {
  assertName('filesystem', fs);
  assertVersionArgument('target', to);
  if (from !== null) assertVersionArgument('incremental source', from);
  signal?.throwIfAborted();
  const snapshots = await listSnapshots(layout, fs, signal, () => recentListing(layout, signal));
  return findSendPair(snapshots, fs, from, to);
}

/**
 * Bytes of file data a full send carries: "Total" of `btrfs filesystem du -s --raw` (the stream adds
 * some metadata per inode on top). Only an estimate for progress: undefined when du fails.
 */
async function estimateFullSend(path: string, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const out = await runBtrfs(['filesystem', 'du', '-s', '--raw', path], { signal });
    const line = out.trim().split('\n').at(-1) ?? '';
    const total = Number(line.trim().split(/\s+/)[0]);
    return Number.isSafeInteger(total) && total >= 0 ? total : undefined;
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined;
  }
}
