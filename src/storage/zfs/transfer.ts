import { posix } from 'node:path';
import { FerryError, PermanentError, TemporaryError } from '../../errors/index.js';
import { countLocalTransfer, startRelay, waitPipeline, type Relay } from '../local-pipe.js';
import type { TransferOptions, TransferResult, Version } from '../driver.js';
import { datasetExists, readVersions, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName } from './names.js';
import { cleanUp, receiveError, resumeTokenOf } from './receive.js';
import { runZfs, spawnZfs, zfsLog, type ZfsProcess } from './run-zfs.js';
import { isResumeRefusal } from '../resume.js';
import { planSend, type SendPlan } from './send.js';

/**
 * The local fast path zfs -> zfs: `zfs send ... | dd | zfs receive -u [-s] <target>` joined by OS
 * pipes. What receiveStream() checks from the stream header is checked here from the step's
 * versions before anything is spawned; a failure stops all three processes and cleans up as
 * receiveStream() does (only a dataset this receive created, left without snapshots, is destroyed).
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
  let existed = await datasetExists(target, signal);
  let before = existed ? await readVersions(target, signal) : [];
  const have = before.find((v) => v.guid === to.guid);
  if (have) {
    log.info({ dataset: target, snapshot: have.name, guid: have.guid }, 'receiver already has this version: nothing to receive');
    return { bytes: 0, version: have };
  }

  const resumable = zfsFeatures().resumable;
  let plan: SendPlan | undefined;
  const token = resumable && existed ? await resumeTokenOf(target, signal) : null;
  if (token) {
    try {
      plan = await planSend(sender, fs, from, to, { signal, resumeToken: token });
      log.info({ dataset: target, snapshot: to.name }, 'resuming an interrupted receive (zfs send -t)');
    } catch (err) {
      if (!isResumeRefusal(err)) throw err;
      log.warn({ dataset: target, err: (err as Error).message }, 'zfs receive -A: discarding the partial state of an earlier interrupted receive');
      await runZfs(['receive', '-A', target], { signal });
      existed = await datasetExists(target, signal);
      before = existed ? await readVersions(target, signal) : [];
    }
  }
  const resuming = plan !== undefined;
  plan ??= await planSend(sender, fs, from, to, { signal, intermediates: opts.intermediates });
  const { args, size } = plan;

  if (existed && incremental && !resuming) {
    const newest = before[before.length - 1];
    if (newest?.guid !== from.guid) {
      const base = before.find((v) => v.guid === from.guid);
      throw new PermanentError(
        `diverged: the stream ${sender.dataset(fs)}@${to.name} applies on top of ${base ? `@${base.name}` : `guid ${from.guid}`}, but the newest snapshot of ${target} ` +
          `is ${newest ? `@${newest.name} (guid ${newest.guid})` : 'none'}. ferry never rolls back or overwrites (no zfs receive -F): ` +
          'destroy the newer snapshots on the receiver by hand, or pick another receiver path',
        { code: 'CONFLICT_DIVERGED', details: { dataset: target, fromguid: from.guid, newest: newest?.guid ?? null } },
      );
    }
  }
  if (existed && !incremental && !resuming) {
    throw new PermanentError(
      `${target} already exists on the receiver without the stream's base snapshot: ferry never overwrites it ` +
        `(no zfs receive -F). Destroy it by hand or pick another receiver path (full stream of ${to.name})`,
      { code: 'CONFLICT_EXISTS', details: { dataset: target } },
    );
  }
  if (!existed) {
    if (incremental) {
      throw new PermanentError(`cannot apply an incremental stream (${to.name}) to ${target}: it does not exist on the receiver`, {
        code: 'NOT_FOUND',
        details: { dataset: target, fromguid: from.guid },
      });
    }
    const parentFs = posix.dirname(fs);
    if (parentFs !== '.') {
      const parent = receiver.dataset(parentFs);
      if (!(await datasetExists(parent, signal))) {
        throw new TemporaryError(`cannot receive ${target} yet: its parent ${parent} does not exist on the receiver (it is replicated first)`, {
          code: 'PARENT_MISSING',
          details: { dataset: target, parent },
        });
      }
    } else if (!(await datasetExists(receiver.root, signal))) {
      log.info({ dataset: receiver.root }, 'creating the receiver root dataset');
      try {
        await runZfs(['create', '-p', receiver.root], { signal });
      } catch (err) {
        if ((err as FerryError).code !== 'ALREADY_EXISTS') throw err;
      }
    }
  }

  // -s only for plain streams: compound (-I) streams restart (as receiveStream)
  const keepPartial = resumable && (resuming || !(incremental && opts.intermediates));
  const recvArgs = ['receive', '-u', ...(keepPartial ? ['-s'] : []), target];
  log.info({ dataset: target, snapshot: to.name, incremental, resuming, fastPath: true }, 'zfs send | zfs receive (local pipe)');

  let send: ZfsProcess | undefined;
  let relay: Relay | undefined;
  let recv: ZfsProcess | undefined;
  const onAbort = () => relay?.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      send = spawnZfs(args, { signal, stdout: 'pipe' });
      relay = startRelay(send.stdout!);
      recv = spawnZfs(recvArgs, { signal, stdin: relay.stdout, stdout: 'ignore' });
      relay.release();
      countLocalTransfer();
    } catch (err) {
      relay?.release();
      relay?.kill();
      await send?.stop();
      throw signal?.aborted ? aborted() : err;
    }
    const s = send;
    const r = recv;
    const outcome = await waitPipeline(
      { send: { done: s.done, kill: () => void s.stop() }, relay, receive: { done: r.done, kill: () => void r.stop() } },
      relay,
      opts.onProgress && ((b: number) => opts.onProgress!(b, size)),
    );
    const { first, errors, bytes } = outcome;
    const beforeGuids = new Set(before.map((v) => v.guid));
    const received = async () => (await readVersions(target)).filter((v) => !beforeGuids.has(v.guid));

    if (first === null) {
      const fresh = await received();
      if (!fresh.some((v) => v.guid === to.guid)) {
        throw new PermanentError(`zfs receive into ${target} exited 0 but ${to.name} (guid ${to.guid}) is not there`, {
          code: 'RECEIVE_NOT_APPLIED',
          details: { dataset: target, toguid: to.guid },
        });
      }
      return { bytes, version: fresh[fresh.length - 1] };
    }
    const recvErr = errors.receive;
    if (
      first === 'receive' && !signal?.aborted && errors.send === undefined && errors.relay === undefined &&
      !(recvErr instanceof PermanentError) && (recvErr as FerryError)?.code !== 'ABORTED'
    ) {
      // zfs-fuse sometimes reports an error (e.g. "I/O error") after a receive that did complete
      const fresh = await received().catch(() => []);
      if (fresh.some((v) => v.guid === to.guid)) {
        log.warn({ dataset: target, err: (recvErr as Error)?.message }, 'zfs receive reported an error but the snapshot arrived complete: taken as received');
        return { bytes, version: fresh[fresh.length - 1] };
      }
    }
    const error = signal?.aborted
      ? aborted()
      : first === 'receive'
        ? receiveError(recvErr, target, existed)
        : first === 'send'
          ? errors.send
          : (errors.relay ?? errors.receive ?? errors.send);
    await cleanUp(target, existed, before, keepPartial);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
