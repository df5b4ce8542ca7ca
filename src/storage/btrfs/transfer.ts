import { mkdir } from 'node:fs/promises';
import { FerryError, PermanentError, TemporaryError } from '../../errors/index.js';
import { acquireLock } from '../dir/lock.js';
import { isAbortError, lstatOrNull } from '../dir/fsutil.js';
import { countLocalTransfer, startRelay, waitPipeline, type Relay } from '../local-pipe.js';
import type { TransferOptions, TransferResult, Version } from '../driver.js';
import { makeRootOnBtrfs, type Layout } from './layout.js';
import { nameProblem } from './names.js';
import { check, failedReceive, removePartials } from './receive.js';
import { runBtrfs, spawnBtrfs, type BtrfsProcess } from './run-btrfs.js';
import { findSendVersions, sendArgs } from './send.js';
import { corrupt } from './stream.js';
import { isSubvolume, listSnapshots, showSubvolume, toVersion } from './subvolume.js';



/**
 * The local fast path btrfs -> btrfs: `btrfs send [-p from] to | dd | btrfs receive <dir>` joined by
 * OS pipes. The checks receiveStream() makes from the stream's first command are made here from the
 * step's versions, under the receiver's lock, before anything is spawned. Any failure (either side,
 * the relay, an abort) kills all three and deletes the subvolume this receive was creating, and
 * only that. A failed send fails the step even when btrfs receive took the cut stream as complete.
 */
export async function transferBtrfs(sender: Layout, receiver: Layout, fs: string, from: Version | null, to: Version, opts: TransferOptions = {}): Promise<TransferResult> {
  const { signal } = opts;
  const { toSnap, fromSnap } = await findSendVersions(sender, fs, from, to, signal);
  const name = toSnap.version.name; // the name btrfs receive gives the new subvolume
  const bad = nameProblem(name);
  if (bad !== null) throw corrupt(`snapshot name ${JSON.stringify(name)} ${bad}`);

  let send: BtrfsProcess | undefined;
  let recv: BtrfsProcess | undefined;
  let relay: Relay | undefined;
  let created: string | null = null;
  let release: (() => Promise<void>) | undefined;
  const onAbort = (): void => relay?.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    await makeRootOnBtrfs(receiver.root);
    await mkdir(receiver.snapshotsDir(fs), { recursive: true });
    release = await acquireLock(receiver.lockFile(fs), `btrfs filesystem ${fs} of ${receiver.root}`);
    await removePartials(receiver, fs, signal);
    const start = { version: 0, kind: fromSnap ? 'incremental' as const : 'full' as const, name, uuid: toSnap.version.guid, ctransid: null, parentUuid: fromSnap?.version.guid ?? null, length: 0 };
    const already = check(receiver, fs, start, await listSnapshots(receiver, fs, signal));
    if (already) return { bytes: 0, version: already };
    const target = receiver.snapshotPath(fs, name);
    if ((await lstatOrNull(target)) !== null) {
      throw new PermanentError(`${fs} in ${receiver.root} already has a different snapshot named ${name}`, {
        code: 'SNAPSHOT_EXISTS',
        details: { fs, name, uuid: start.uuid },
      });
    }

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

    const info = await showSubvolume(target, signal);
    if (!info.readonly || info.receivedUuid !== start.uuid) {
      throw new PermanentError(`btrfs receive of ${fs}@${name} exited 0 but left it ${info.readonly ? 'without the expected Received UUID' : 'writable'}`, {
        code: 'RECEIVE_INCOMPLETE',
        details: { fs, name, uuid: start.uuid, receivedUuid: info.receivedUuid },
      });
    }
    created = null;
    return { bytes, version: toVersion(name, info) };
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
