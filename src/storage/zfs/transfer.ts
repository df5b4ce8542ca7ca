import { FerryError, PermanentError, TemporaryError } from '../../errors/index.js';
import { countLocalTransfer, startRelay, waitPipeline, type Relay } from '../local-pipe.js';
import type { TransferOptions, TransferResult, Version } from '../driver.js';
import { forgetAbsent, probeDataset, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName } from './names.js';
import { arrivedDespite, checkReceiver, cleanUp, discardPartial, receiveError, receivedVersion, receiveOverrideArgs } from './receive.js';
import { spawnZfs, zfsCommand, zfsEnv, zfsError, zfsLog, type ZfsProcess } from './run-zfs.js';
import { runShellPipe, shellFailure, shellPipeAvailable, type StageExit } from '../shell-pipe.js';
import { isResumeRefusal } from '../resume.js';
import { planSend, type SendPlan } from './send.js';

/**
 * The local fast path zfs -> zfs: `zfs send ... | zfs receive -u [-s] <target>` joined by one OS
 * pipe in a shell (OpenZFS), or `zfs send ... | pv | zfs receive ...` joined by Node's pipes
 * (zfs-fuse, whose count needs the relay). What receiveStream() checks from the stream header is
 * checked here from the step's versions before anything is spawned; a failure stops every process
 * and cleans up as receiveStream() does (only a dataset this receive created, left without
 * snapshots, is destroyed).
 */
export async function transferZfs(sender: ZfsContext, receiver: ZfsContext, fs: string, from: Version | null, to: Version, opts: TransferOptions = {}): Promise<TransferResult> {
  const log = zfsLog();
  const { signal } = opts;
  assertZfsName('filesystem', fs);
  const target = receiver.dataset(fs);
  assertFullName(target);
  const aborted = () => new TemporaryError(`receiving ${target} aborted`, { code: 'ABORTED', cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  const incremental = from !== null;
  // the sender's side of the step (its versions, the send's size) is read while the receiver is
  // probed: a command each, neither needs the other; used unless the receiver has a partial receive to resume
  const fresh = planSend(sender, fs, from, to, { signal, intermediates: opts.intermediates, flags: opts.flags });
  fresh.catch(() => undefined); // awaited below when used; a probe failing first must not leave it unhandled
  const found = await probeDataset(receiver, target, signal, !incremental);
  let { exists: existed, versions: before } = found;
  const have = before.find((v) => v.guid === to.guid);
  if (have) {
    log.info({ dataset: target, snapshot: have.name, guid: have.guid }, 'receiver already has this version: nothing to receive');
    return { bytes: 0, version: have };
  }

  const overrideArgs = receiveOverrideArgs(opts.overrides);
  const resumable = zfsFeatures().resumable;
  let plan: SendPlan | undefined;
  if (found.resumeToken) {
    try {
      plan = await planSend(sender, fs, from, to, { signal, resumeToken: found.resumeToken });
      log.info({ dataset: target, snapshot: to.name }, 'resuming an interrupted receive (zfs send -t)');
    } catch (err) {
      if (!isResumeRefusal(err)) throw err;
      ({ exists: existed, versions: before } = await discardPartial(target, signal, err));
    }
  }
  const resuming = plan !== undefined;
  plan ??= await fresh;
  const { args, size } = plan;

  // receiveStream leaves this one to zfs receive (which refuses it); here it is refused before anything runs
  if (existed && !incremental && !resuming) {
    throw new PermanentError(
      `${target} already exists on the receiver without the stream's base snapshot: ferry never overwrites it ` +
        `(no zfs receive -F). Destroy it by hand or pick another receiver path (full stream of ${to.name})`,
      { code: 'CONFLICT_EXISTS', details: { dataset: target } },
    );
  }
  const toname = `${sender.dataset(fs)}@${to.name}`;
  await checkReceiver(receiver, fs, { exists: existed, versions: before }, { incremental, resuming, fromguid: from?.guid ?? '0', toname }, signal);

  // -s only for plain streams: compound (-I) streams restart (as receiveStream)
  const keepPartial = resumable && (resuming || !(incremental && opts.intermediates));
  const recvArgs = ['receive', '-u', ...(keepPartial ? ['-s'] : []), ...overrideArgs, target];
  forgetAbsent(receiver);
  log.info({ dataset: target, snapshot: to.name, incremental, resuming, fastPath: true }, 'zfs send | zfs receive (local pipe)');

  await opts.ready; // the step's versions held (step-runner.ts), taken while the above was read
  const onProgress = opts.onProgress && ((b: number) => opts.onProgress!(b, size));
  let outcome: TransferOutcome;
  try {
    outcome = relayNeeded()
      ? await relayedTransfer(args, recvArgs, signal, onProgress)
      : await shellTransfer(args, recvArgs, signal, onProgress);
  } catch (err) {
    throw signal?.aborted ? aborted() : err; // nothing ran, or what ran was stopped
  }
  opts.streamEnded?.();
  const { first, errors, bytes } = outcome;
  if (first === null) return { bytes, version: await receivedVersion(target, before, to.guid, toname) };
  const recvErr = errors.receive;
  if (
    first === 'receive' && !signal?.aborted && errors.send === undefined && errors.pipe === undefined &&
    !(recvErr instanceof PermanentError) && (recvErr as FerryError)?.code !== 'ABORTED'
  ) {
    const arrived = await arrivedDespite(target, before, to.guid, recvErr);
    if (arrived) return { bytes, version: arrived };
  }
  const error = signal?.aborted
    ? aborted()
    : first === 'receive'
      ? receiveError(recvErr, target, existed)
      : first === 'send'
        ? errors.send
        : (errors.pipe ?? errors.receive ?? errors.send);
  await cleanUp(target, existed, keepPartial);
  throw error;
}

/**
 * Whether the fast path needs the counting relay between send and receive: zfs-fuse (its daemon,
 * not `zfs send`, writes the stream), or no bash to join the two with one OS pipe.
 */
export function relayNeeded(): boolean {
  return !(zfsFeatures().sendWritesStream && shellPipeAvailable());
}

/** How a local pipeline ended: the stage that failed first by itself (`pipe`: what joined them), each stage's typed error, the bytes. */
interface TransferOutcome {
  first: 'send' | 'receive' | 'pipe' | null;
  errors: { send?: unknown; receive?: unknown; pipe?: unknown };
  bytes: number;
}

/**
 * OpenZFS: `zfs send | zfs receive` in one bash, joined by one OS pipe as an operator's shell joins
 * them, nothing in between: the send process writes the stream itself, so its write counter is the
 * exact count (shell-pipe.ts). A relay between them cost a fifth to a quarter of the throughput
 * (measured on zfs-fuse, 290-MB streams).
 */
async function shellTransfer(sendArgs: string[], recvArgs: string[], signal: AbortSignal | undefined, onProgress?: (bytes: number) => void): Promise<TransferOutcome> {
  const send = zfsCommand(sendArgs);
  const recv = zfsCommand(recvArgs);
  countLocalTransfer(); // the shell is spawned by the call below, before it first waits
  const o = await runShellPipe(send, recv, { signal, env: zfsEnv(), onProgress });
  const stageError = (args: string[], s: StageExit) => (s.code === 0 ? undefined : zfsError(args, s.code ?? s.signal, s.stderr));
  const errors = {
    send: stageError(sendArgs, o.send),
    receive: stageError(recvArgs, o.receive),
    pipe: o.first === 'shell' ? shellFailure(o, 'zfs', sendArgs, recvArgs) : undefined,
  };
  return { first: o.first === 'shell' ? 'pipe' : o.first, errors, bytes: o.bytes };
}

/**
 * zfs-fuse: `zfs send | relay | zfs receive` joined by Node's pipes (local-pipe.ts); its daemon,
 * not the send process, writes the pipe, so only a relay can count.
 */
async function relayedTransfer(sendArgs: string[], recvArgs: string[], signal: AbortSignal | undefined, onProgress?: (bytes: number) => void): Promise<TransferOutcome> {
  let send: ZfsProcess | undefined;
  let relay: Relay | undefined;
  let recv: ZfsProcess | undefined;
  const onAbort = () => relay?.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      send = spawnZfs(sendArgs, { signal, stdout: 'pipe' });
      relay = startRelay(send.stdout!);
      recv = spawnZfs(recvArgs, { signal, stdin: relay.stdout, stdout: 'ignore' });
      relay.release();
      countLocalTransfer();
    } catch (err) {
      relay?.release();
      relay?.kill();
      await send?.stop();
      throw err;
    }
    const s = send;
    const r = recv;
    const { first, errors, bytes } = await waitPipeline(
      { send: { done: s.done, kill: () => void s.stop() }, relay, receive: { done: r.done, kill: () => void r.stop() } },
      relay,
      onProgress,
    );
    return { first: first === 'relay' ? 'pipe' : first, errors: { send: errors.send, receive: errors.receive, pipe: errors.relay }, bytes };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
