import { countLocalTransfer, startRelay, waitPipeline, type Relay } from '../local-pipe.js';
import type { TransferOptions, TransferResult, Version } from '../driver.js';
import type { Layout } from './layout.js';
import { nameProblem } from './names.js';
import { confirmReceived, described, failedReceive, lockForReceive, receiveTarget, type Incoming } from './receive.js';
import { spawnBtrfs, type BtrfsProcess } from './run-btrfs.js';
import { findSendVersions, sendArgs } from './send.js';
import { corrupt } from './stream.js';

/**
 * The local fast path btrfs -> btrfs: `btrfs send [-p from] to | dd | btrfs receive <dir>` joined by
 * OS pipes. The checks receiveStream() makes from the stream's first command are made here from the
 * step's versions, under the receiver's lock, before anything is spawned. Any failure (either side,
 * the relay, an abort) kills all three and deletes the subvolume this receive was creating, and
 * only that. A failed send fails the step even when btrfs receive took the cut stream as complete.
 */
export async function transferBtrfs(sender: Layout, receiver: Layout, fs: string, from: Version | null, to: Version, opts: TransferOptions = {}): Promise<TransferResult> {
  const { signal } = opts;
  // the sender's versions are listed while the receiver is locked and listed: neither needs the other
  const sending = findSendVersions(sender, fs, from, to, signal);
  sending.catch(() => undefined); // awaited below; a lock failing first must not leave it unhandled

  let send: BtrfsProcess | undefined;
  let recv: BtrfsProcess | undefined;
  let relay: Relay | undefined;
  let created: string | null = null;
  let release: (() => Promise<void>) | undefined;
  const onAbort = (): void => relay?.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const locked = await lockForReceive(receiver, fs, signal);
    release = locked.release;
    // a retried step whose first run finished: done, whatever became of the sender's snapshot since
    const there = locked.snapshots.find((snap) => snap.version.guid === to.guid);
    if (there) return { bytes: 0, version: await described(receiver, fs, there.version, signal) };
    const { toSnap, fromSnap } = await sending;
    const name = toSnap.version.name; // the name btrfs receive gives the new subvolume
    const bad = nameProblem(name);
    if (bad !== null) throw corrupt(`snapshot name ${JSON.stringify(name)} ${bad}`);
    const start: Incoming = { kind: fromSnap ? 'incremental' : 'full', name, uuid: toSnap.version.guid, parentUuid: fromSnap?.version.guid ?? null };
    const { already, target } = await receiveTarget(receiver, fs, start, locked.snapshots, signal);
    if (already) return { bytes: 0, version: already };

    created = target; // nothing was there and we hold the lock: whatever appears there is this receive's
    send = spawnBtrfs(sendArgs(toSnap, fromSnap), { signal });
    relay = startRelay(send.stdout);
    recv = spawnBtrfs(['-q', 'receive', receiver.snapshotsDir(fs)], { signal, stdin: relay.stdout });
    relay.release();
    countLocalTransfer();
    const s = send;
    const r = recv;
    const { first, errors, bytes } = await waitPipeline({ send: s, relay, receive: r }, relay, opts.onProgress);
    if (first !== null) throw errors[first];

    const version = await confirmReceived(receiver, target, fs, start, signal);
    created = null;
    return { bytes, version };
  } catch (err) {
    relay?.release();
    relay?.kill();
    for (const p of [send, recv]) {
      if (p) {
        p.kill();
        await p.exited;
      }
    }
    if (relay) await relay.done.catch(() => undefined);
    throw await failedReceive(fs, created, err, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await release?.();
  }
}
