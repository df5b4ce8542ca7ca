import { TemporaryError } from '../../errors/index.js';
import { countLocalTransfer } from '../local-pipe.js';
import { runShellPipe, type ShellPipeOutcome } from '../shell-pipe.js';
import type { TransferOptions, TransferResult, Version } from '../driver.js';
import type { Layout } from './layout.js';
import { nameProblem } from './names.js';
import { confirmReceived, described, failedReceive, lockForReceive, receiveTarget, type Incoming } from './receive.js';
import { btrfsCommand, btrfsEnv, classifyBtrfsFailure } from './run-btrfs.js';
import { findSendVersions, sendArgs } from './send.js';
import { corrupt } from './stream.js';

/**
 * The local fast path btrfs -> btrfs: `btrfs send [-p from] to | btrfs receive <dir>` joined by one
 * OS pipe in one shell (shell-pipe.ts: the stream's exact length without a relay). The checks
 * receiveStream() makes from the stream's first command are made here from the step's versions,
 * under the receiver's lock, before anything is started. Any failure (either side, an abort) ends
 * both and deletes the subvolume this receive was creating, and only that. A failed send fails the
 * step even when btrfs receive took the cut stream as complete.
 */
export async function transferBtrfs(sender: Layout, receiver: Layout, fs: string, from: Version | null, to: Version, opts: TransferOptions = {}): Promise<TransferResult> {
  const { signal } = opts;
  // the sender's versions are listed while the receiver is locked and listed: neither needs the other
  const sending = findSendVersions(sender, fs, from, to, signal);
  sending.catch(() => undefined); // awaited below; a lock failing first must not leave it unhandled

  let created: string | null = null;
  let release: (() => Promise<void>) | undefined;
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
    const send = sendArgs(toSnap, fromSnap);
    const recv = ['-q', 'receive', receiver.snapshotsDir(fs)];
    await opts.ready;
    countLocalTransfer();
    const outcome = await runShellPipe(btrfsCommand(send), btrfsCommand(recv), { signal, env: btrfsEnv(), onProgress: opts.onProgress });
    opts.streamEnded?.();
    signal?.throwIfAborted();
    if (outcome.first !== null) throw pipeError(outcome, send, recv);

    const version = await confirmReceived(receiver, target, fs, start, signal);
    created = null;
    return { bytes: outcome.bytes, version };
  } catch (err) {
    throw await failedReceive(fs, created, err, signal);
  } finally {
    await release?.();
  }
}

/** The typed error of the stage that failed first. */
function pipeError(o: ShellPipeOutcome, send: string[], recv: string[]): Error {
  if (o.first === 'send') return classifyBtrfsFailure(send, o.send, o.send.stderr);
  if (o.first === 'receive') return classifyBtrfsFailure(recv, o.receive, o.receive.stderr);
  const how = o.shell.signal ? `killed by ${o.shell.signal}` : `exit ${o.shell.code}`;
  const said = [o.shell.stderr, o.send.stderr, o.receive.stderr].map((t) => t.trim()).filter(Boolean).join(' | ');
  return new TemporaryError(`the shell running btrfs send | btrfs receive ended without their statuses (${how})${said ? `: ${said.slice(-2000)}` : ''}`, {
    code: 'PIPELINE_FAILED',
    details: { send, receive: recv },
  });
}
