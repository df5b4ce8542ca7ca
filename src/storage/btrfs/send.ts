import { findSendPair } from '../find-snapshot.js';
import type { SendStream, Version } from '../driver.js';
import type { Layout } from './layout.js';
import { assertName, assertVersionArgument } from './names.js';
import { formatArgs, streamProtocol, type StreamFormat } from './protocol.js';
import { processOutput, runBtrfs, spawnBtrfs } from './run-btrfs.js';
import { listSnapshots, recentListing, type Snapshot } from './subvolume.js';

/**
 * `btrfs send [-p <from>] <to>`, or for a batch (`intermediates`) every snapshot after `from` up to
 * `to` in one stream (sendArgs). All found on the sender by guid. The stream ends only after btrfs
 * send exited 0 (a failure destroys it with a typed error); abort or destroy kills btrfs send.
 */
export async function createSendStream(layout: Layout, fs: string, from: Version | null, to: Version, opts: { signal?: AbortSignal; intermediates?: boolean; compressed?: boolean; receiverProtocol?: number } = {}): Promise<SendStream> {
  const { signal } = opts;
  // the stream may leave the host: the newest protocol the receiver said it reads, else 1 unless compressed data needs 2 (protocol.ts)
  const format = await streamProtocol({ compressed: !!opts.compressed, local: false, receiver: opts.receiverProtocol });
  const { toSnap, fromSnap, chain } = await findSendVersions(layout, fs, from, to, signal, opts.intermediates);
  // compressed: the estimate (file data as read) would overstate it
  const sizeEstimate = fromSnap || opts.compressed ? undefined : await estimateFullSend(toSnap.path, signal);
  const proc = spawnBtrfs(sendArgs(chain, fromSnap, format), { signal });
  return { stream: processOutput(proc), sizeEstimate };
}

/**
 * The send of `chain` (the snapshots the stream carries, oldest first): one snapshot with its parent
 * (`-p`), or several in one stream. For several, `from` and each snapshot once sent are clone
 * sources (`-c`): btrfs send then takes each snapshot's parent from them, the one before it
 * (`-p` would make `from` the parent of every one, sending each change again). The stream is one
 * header, first command and END per snapshot, back to back; btrfs receive applies them in order.
 * `format`: the stream's protocol and whether compressed extents travel compressed (protocol.ts).
 */
export function sendArgs(chain: Snapshot[], fromSnap: Snapshot | null, format: StreamFormat = { protocol: 1, compressed: false }): string[] {
  const send = ['-q', 'send', ...formatArgs(format)];
  if (chain.length > 1 && fromSnap) return [...send, '-c', fromSnap.path, ...chain.map((s) => s.path)];
  const toSnap = chain[chain.length - 1];
  return [...send, ...(fromSnap ? ['-p', fromSnap.path] : []), toSnap.path];
}

/**
 * The step's versions on the sender, found by guid in a recent listing without creation times
 * (recentListing: steps share it; the receiving end checks the UUID it got); `to` must be newer
 * than `from`. `chain`: what the stream carries, `to` alone or, for a batch from `from`, every
 * snapshot after `from` up to `to`, oldest first.
 */
export async function findSendVersions(layout: Layout, fs: string, from: Version | null, to: Version, signal?: AbortSignal, intermediates = false): Promise<{ toSnap: Snapshot; fromSnap: Snapshot | null; chain: Snapshot[] }> {
  assertName('filesystem', fs);
  assertVersionArgument('target', to);
  if (from !== null) assertVersionArgument('incremental source', from);
  signal?.throwIfAborted();
  const snapshots = await listSnapshots(layout, fs, signal, () => recentListing(layout, signal));
  const { toSnap, fromSnap } = findSendPair(snapshots, fs, from, to);
  const chain = intermediates && fromSnap ? snapshots.slice(snapshots.indexOf(fromSnap) + 1, snapshots.indexOf(toSnap) + 1) : [toSnap];
  return { toSnap, fromSnap, chain };
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
