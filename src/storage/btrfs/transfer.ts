import { PermanentError } from '../../errors/index.js';
import { lstatOrNull } from '../../util/fs.js';
import { countLocalTransfer } from '../local-pipe.js';
import { runShellPipe, shellFailure, type LookExit, type ShellPipeOptions, type ShellPipeOutcome } from '../shell-pipe.js';
import type { TransferOptions, TransferResult, Version } from '../driver.js';
import type { Layout } from './layout.js';
import { nameProblem } from './names.js';
import { confirmReceived, described, failedReceive, freeTarget, lockReceiveDir, receiverVersions, receiveTarget, sharedReceiverVersions, type Incoming } from './receive.js';
import { btrfsCommand, btrfsEnv, classifyBtrfsFailure } from './run-btrfs.js';
import { streamProtocol } from './protocol.js';
import { findSendVersions, sendArgs } from './send.js';
import { corrupt } from './stream.js';
import { freshListing, listingArgs, listingContext, listingMark, readListing, validEntries, type ListingContext, type Snapshot } from './subvolume.js';

/**
 * The local fast path btrfs -> btrfs: `btrfs send [-p from] to | btrfs receive <dir>` joined by one
 * OS pipe in one shell (shell-pipe.ts: the stream's exact length without a relay). The checks
 * receiveStream() makes from the stream's first command are made here from the step's versions,
 * under the receiver's lock, before anything is sent. A step alone on its receiver has the same
 * shell list the receiver right before the pipe (Node decides from that listing whether it runs)
 * and right after it (to confirm what arrived): every exec costs 4–5 ms on this VM kind, and a fork
 * of Node more; steps beside one another share listings instead (joinSteps). Any failure
 * (either side, an abort) ends both and deletes the subvolume this receive was creating, and only
 * that. A failed send fails the step even when btrfs receive took the cut stream as complete. A
 * batch (`intermediates`) is one pipe for all its snapshots: each is checked before and confirmed
 * after, and one cut short keeps those that arrived whole (lastMade). The stream is of the newest
 * protocol this host's btrfs-progs and kernel share (protocol.ts): it never leaves the host.
 */
export async function transferBtrfs(sender: Layout, receiver: Layout, fs: string, from: Version | null, to: Version, opts: TransferOptions = {}): Promise<TransferResult> {
  const { signal } = opts;
  // the sender's versions are found while the receiver is locked: neither needs the other
  const sending = findSendVersions(sender, fs, from, to, signal, opts.intermediates);
  sending.catch(() => undefined); // awaited below; a lock failing first must not leave it unhandled
  // both ends are this host's btrfs-progs: the newest protocol they know (found once per process)
  const format = streamProtocol({ compressed: !!opts.flags?.compressed, local: true });
  format.catch(() => undefined); // awaited below

  /** the subvolumes this receive makes, once nothing stood in their way */
  let created: string[] | null = null;
  let release: (() => Promise<void>) | undefined;
  const shared = joinSteps(receiver.root);
  try {
    signal?.throwIfAborted();
    // what reading the receiver's listings needs (on a receiver new to this process, the id of its
    // holding subvolume: the mount table's, or a `btrfs inspect-internal rootid`), found while the
    // lock is taken
    let reading: Promise<ListingContext> | undefined;
    release = await lockReceiveDir(receiver, fs, () => {
      reading = listingContext(receiver, signal);
      reading.catch(() => undefined); // awaited below
    });
    const context = await reading!;
    let versions: Awaited<typeof sending>;
    try {
      versions = await sending;
    } catch (err) {
      // a retried step whose first run finished: done, whatever became of the sender's snapshot since
      const there = (await sharedReceiverVersions(receiver, fs, signal)).find((s) => s.version.guid === to.guid);
      if (there) return { bytes: 0, version: await described(receiver, fs, there.version, signal) };
      throw err;
    }
    const { fromSnap, chain } = versions;
    for (const s of chain) {
      const bad = nameProblem(s.version.name); // the name btrfs receive gives the new subvolume
      if (bad !== null) throw corrupt(`snapshot name ${JSON.stringify(s.version.name)} ${bad}`);
    }
    // what the stream applies, in order: the first on `from` (or full), each later one on the one before it
    const incoming: Incoming[] = chain.map((s, i) => {
      const parent = i === 0 ? fromSnap : chain[i - 1];
      return { kind: parent ? 'incremental' : 'full', name: s.version.name, uuid: s.version.guid, parentUuid: parent?.version.guid ?? null };
    });
    const start = incoming[0];
    const targets = chain.map((s) => receiver.snapshotPath(fs, s.version.name));
    const send = sendArgs(chain, fromSnap, await format);
    const recv = ['-q', 'receive', receiver.snapshotsDir(fs)];
    const list = listingArgs(receiver);

    /** what is there already (nothing is sent then), else null once the receive may begin */
    let there: Version | null = null;
    const decide = async (snapshots: Snapshot[]): Promise<boolean> => {
      const found = snapshots.find((s) => s.version.guid === to.guid);
      if (found) {
        there = await described(receiver, fs, found.version, signal);
        return false;
      }
      const { already } = await receiveTarget(receiver, fs, start, snapshots, signal);
      if (already && chain.length === 1) {
        there = already;
        return false;
      }
      if (already) {
        throw new PermanentError(`${fs} on the receiver already has ${start.name}, the first snapshot of this batch`, { code: 'SNAPSHOT_EXISTS', details: { fs, name: start.name, uuid: start.uuid } });
      }
      for (const s of incoming.slice(1)) await freeTarget(receiver, fs, s);
      // nothing was there and we hold the lock: whatever appears there is this receive's
      created = targets;
      await opts.ready;
      countLocalTransfer();
      return true;
    };
    let before: ShellPipeOptions['before'];
    if (shared) {
      // beside other steps on this receiver: a listing begun after the lock, shared with theirs
      if (!(await decide(await sharedReceiverVersions(receiver, fs, signal)))) return { bytes: 0, version: there! };
    } else if ((await validEntries(receiver, fs)).length === 0) {
      // a first receive: nothing to look at before
      if (!(await decide([]))) return { bytes: 0, version: there! };
    } else {
      before = {
        argv: btrfsCommand(list),
        proceed: async (look: LookExit) => {
          if (look.code !== 0) throw classifyBtrfsFailure(list, look, look.stderr);
          const listed = readListing(receiver, context, look.stdout);
          return decide(await receiverVersions(receiver, fs, async () => listed, signal));
        },
      };
    }
    const outcome = await runShellPipe(btrfsCommand(send), btrfsCommand(recv), {
      signal, env: btrfsEnv(), onProgress: opts.onProgress, before, after: shared ? undefined : btrfsCommand(list),
    });
    if (there !== null) return { bytes: 0, version: there };
    opts.streamEnded?.();
    signal?.throwIfAborted();
    if (outcome.first !== null) throw pipeError(outcome, send, recv);

    // a listing begun after btrfs receive exited: the shell's own, or one shared with other steps
    const after = shared ? await freshListing(receiver, listingMark(), signal) : outcome.after?.code === 0 ? readListing(receiver, context, outcome.after.stdout) : null;
    let version: Version | undefined;
    for (const [i, s] of incoming.entries()) version = await confirmReceived(after, targets[i], fs, s, signal);
    created = null;
    return { bytes: outcome.bytes, version: version! };
  } catch (err) {
    throw await failedReceive(fs, created === null ? null : await lastMade(created), err, signal);
  } finally {
    leaveSteps(receiver.root);
    await release?.();
  }
}

/** fast-path steps running in this process, per receiver root */
const running = new Map<string, number>();

/**
 * Counts a step in; true when others on the same receiver already run. A step alone runs its
 * receiver's listings in its own shell (no fork of Node); steps beside one another share one
 * listing begun after each one's mark (freshListing), which at 40 filesystems eight at a time
 * cost less than a listing per step: 2.4–2.6 s a cycle against 2.9–3.0 s.
 */
function joinSteps(root: string): boolean {
  const n = running.get(root) ?? 0;
  running.set(root, n + 1);
  return n > 0;
}

function leaveSteps(root: string): void {
  const n = (running.get(root) ?? 1) - 1;
  if (n > 0) running.set(root, n);
  else running.delete(root);
}

/**
 * Of a failed batch's subvolumes, the one to delete: the newest that exists. btrfs receive begins
 * a snapshot only after the END of the one before, so those before it arrived complete and stay
 * (as zfs keeps what arrived of an -I stream); that one may have been cut anywhere.
 */
async function lastMade(targets: string[]): Promise<string | null> {
  for (let i = targets.length - 1; i >= 0; i--) if ((await lstatOrNull(targets[i])) !== null) return targets[i];
  return null;
}

/** The typed error of the stage that failed first. */
function pipeError(o: ShellPipeOutcome, send: string[], recv: string[]): Error {
  if (o.first === 'send') return classifyBtrfsFailure(send, o.send, o.send.stderr);
  if (o.first === 'receive') return classifyBtrfsFailure(recv, o.receive, o.receive.stderr);
  return shellFailure(o, 'btrfs', send, recv);
}
