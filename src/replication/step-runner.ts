import { Transform } from 'node:stream';
import { FerryError } from '../errors/index.js';
import type { ReplicateStepInput, ReplicateStepOutput } from '../../machines/filesystem.js';
import type { EffectContext } from '../engine/types.js';
import type { ReplicationMetrics } from './metrics.js';
import type { ReceiveOverrides, SendFlags, SendStream, StorageDriver, Version } from '../storage/driver.js';
import { isResumeRefusal } from '../storage/resume.js';
import { openEndpoint } from '../storage/endpoint.js';
import { throttleStream } from '../util/throttle.js';
import { cursorName, stepHoldTag } from './cursors.js';

/**
 * One replication step (the registry runs it behind the agents' health gate). Observes the step's
 * wait in the queue and, when it replicated data, its latency
 * (`ferry_replication_step_queue_wait_seconds{type}`, `ferry_replication_latency_seconds{type}`). Its
 * bytes are counted when its result is committed (committed-stats.ts), not here.
 */
export async function replicateStep(input: ReplicateStepInput, ctx: EffectContext, metrics: ReplicationMetrics): Promise<ReplicateStepOutput> {
  const type = input.step.from === null ? 'full' : 'incremental';
  const startedAt = Date.now();
  if (ctx.scheduledAt !== undefined) metrics.stepQueueWait.observe({ type }, Math.max(0, startedAt - ctx.scheduledAt) / 1000);
  const sender = openEndpoint(input.sender);
  const receiver = openEndpoint(input.receiver);
  const done = await withStepHolds(sender, receiver, input, ctx, (holds) => transferStepOrEach(sender, receiver, input, ctx, holds));
  await moveCursor(sender, receiver, input, ctx);
  if (done.sent) metrics.replicationLatency.observe({ type }, (Date.now() - startedAt) / 1000);
  return { bytes: done.bytes };
}

/**
 * transferStep(); a batch the driver cannot send as one stream (BATCH_UNSUPPORTED: btrfs send finds
 * no parent for a snapshot whose origin subvolume is gone, as after a restore of the live one) goes
 * one snapshot at a time, in this step, so that a job with `batch` keeps working there.
 */
async function transferStepOrEach(sender: StorageDriver, receiver: StorageDriver, input: ReplicateStepInput, ctx: EffectContext, holds: StepHolds): Promise<{ bytes: number; sent: boolean }> {
  try {
    return await transferStep(sender, receiver, input, ctx, holds);
  } catch (err) {
    const { step, filesystem: fs } = input;
    if (!step.intermediates || step.from === null || !(err instanceof FerryError && err.code === 'BATCH_UNSUPPORTED')) throw err;
    ctx.log.warn({ filesystem: fs, from: step.from.name, to: step.to.name, err: err.message }, 'this batch cannot go as one stream: sending its snapshots one at a time');
    const after = step.from.createtxg;
    const chain = (await sender.listVersions(fs)).filter((v) => v.createtxg > after && v.createtxg <= step.to.createtxg);
    let done = { bytes: 0, sent: false };
    let from = step.from;
    for (const to of chain) {
      const one = await transferStep(sender, receiver, { ...input, step: { from, to } }, ctx, holds);
      done = { bytes: done.bytes + one.bytes, sent: done.sent || one.sent };
      from = to;
    }
    return done;
  }
}

/**
 * The sender's stream piped into the receiver, counting bytes for progress (which also feeds the
 * watchdog). Idempotent: a step whose `to` version already exists on the receiver (a retried job
 * whose first run finished) succeeds without sending (`sent` false).
 */
async function transferStep(sender: StorageDriver, receiver: StorageDriver, input: ReplicateStepInput, ctx: EffectContext, holds: StepHolds): Promise<{ bytes: number; sent: boolean }> {
  const { filesystem: fs, step } = input;
  const { flags, overrides, limit } = streamOptions(input);
  // a bandwidth limit takes the stream path below even between local drivers: the OS pipes of the
  // fast path (send | dd | receive) have nothing to pace them with (docs/send-options.md)
  const fastPath = sender.transferTo !== undefined && limit === undefined;
  // The fast path finds `to` on the receiver itself (under the receiver's lock, as receive() does)
  // and then sends nothing: listing the receiver first would only repeat it. The stream path and a
  // batch's continuation ask first.
  let have: Set<string> | undefined;
  const alreadyThere = async () => {
    have ??= new Set((await receiver.listVersions(fs)).map((v) => v.guid));
    if (!have.has(step.to.guid)) return false;
    ctx.log.info({ filesystem: fs, to: step.to.name }, 'receiver already has this version: step done');
    return true;
  };
  if ((!fastPath || step.intermediates) && (await alreadyThere())) return { bytes: 0, sent: false };
  let from = step.from;
  if (step.intermediates && step.from) {
    // a batch cut short keeps the snapshots that arrived complete: continue after the newest of them
    const after = step.from.createtxg;
    const arrived = (await sender.listVersions(fs)).filter((v) => v.createtxg > after && v.createtxg < step.to.createtxg && have!.has(v.guid));
    if (arrived.length) {
      from = arrived[arrived.length - 1];
      ctx.log.info({ filesystem: fs, from: from.name }, 'part of this batch arrived in an earlier attempt: continuing from it');
    }
  }
  if (fastPath) {
    // local sender and receiver of the same kind: the data goes process to process through OS pipes
    let counted = 0;
    // the transfer's first progress once the versions are held: the stream starts right after
    const ready = holds.held.then(() => ctx.progress({ bytes: 0 }));
    const done = await sender.transferTo!(receiver, fs, from, step.to, {
      signal: ctx.signal,
      intermediates: step.intermediates,
      flags,
      overrides,
      ready,
      streamEnded: holds.release,
      onProgress: (b, total) => {
        counted = Math.max(counted, b);
        ctx.progress({ bytes: counted, total });
      },
    });
    if (done) {
      ctx.log.info({ filesystem: fs, from: step.from?.name ?? null, to: step.to.name, bytes: done.bytes, fastPath: true }, 'step replicated');
      return { bytes: done.bytes, sent: done.bytes > 0 }; // 0: it was there already (a stream always has bytes)
    }
    // not applicable (the receiver is not local): the stream path, which asks first
    if (await alreadyThere()) return { bytes: 0, sent: false };
  }
  await holds.held;
  const { stream, sizeEstimate } = await openSend(sender, receiver, fs, from, step, ctx, flags);
  let bytes = 0;
  ctx.progress({ bytes: 0, total: sizeEstimate });
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      ctx.progress({ bytes, total: sizeEstimate });
      done(null, chunk);
    },
  });
  stream.on('error', (err) => counter.destroy(err));
  // the throttle before the counter: progress shows what went on, at the limited rate
  const throttle = limit === undefined ? null : throttleStream(limit);
  if (throttle) {
    stream.on('error', (err) => throttle.destroy(err));
    throttle.on('error', (err) => counter.destroy(err));
    stream.pipe(throttle).pipe(counter);
  } else stream.pipe(counter);
  try {
    await receiver.receive(fs, counter, { signal: ctx.signal, ...(overrides ? { overrides } : {}) });
  } catch (err) {
    // a receiver that gave up stops reading: end the send too (a local process or a remote call)
    stream.destroy();
    throttle?.destroy();
    counter.destroy();
    throw err;
  }
  ctx.log.info({ filesystem: fs, from: step.from?.name ?? null, to: step.to.name, bytes }, 'step replicated');
  return { bytes, sent: true };
}

/** The step's holds as its work sees them: taken (`held`), and given back early once the stream has ended (`release`). */
interface StepHolds {
  held: Promise<void>;
  release: () => void;
}

/**
 * Runs `work` with the step's versions held (zfs hold, where the drivers can): `to` and the base
 * on the sender, the base on the receiver, so that nothing (a pruning, a person) destroys them
 * mid-step; released afterwards, whatever the outcome. The holds are taken while `work` reads both
 * ends, which sends nothing before `held` (a command each, and zfs-fuse runs commands one at a
 * time), and may be released as soon as the stream has ended (`release`), while the result is
 * checked. A bookmark base is not held (it cannot be, and its snapshot is gone by design). A
 * worker that dies mid-step leaves the holds: the retried step takes the same tag and releases it.
 */
async function withStepHolds<T>(sender: StorageDriver, receiver: StorageDriver, input: ReplicateStepInput, ctx: EffectContext, work: (holds: StepHolds) => Promise<T>): Promise<T> {
  const { filesystem: fs, step } = input;
  const tag = stepHoldTag(input);
  const base = step.from && !step.from.name.startsWith('#') ? [step.from.name] : [];
  const onSender = [...base, step.to.name];
  const held: Array<() => Promise<void>> = [];
  const hold = async (d: StorageDriver, names: string[], side: string) => {
    if (!d.holdSnapshots || !d.releaseSnapshots || !names.length) return;
    try {
      await d.holdSnapshots(fs, names, tag);
      held.push(() => d.releaseSnapshots!(fs, names, tag));
    } catch (err) {
      // a snapshot the step needs that cannot be held (gone meanwhile) fails the step itself, with its own error
      ctx.log.warn({ filesystem: fs, side, snapshots: names, err: (err as Error).message }, 'could not hold the step\'s snapshots');
    }
  };
  // both sides at once (each is a command of its own); the receiver's copy of the base: an
  // incremental step's base is on the receiver, by the same name. Never rejects (hold() logs).
  const taking = Promise.all([hold(sender, onSender, 'sender'), hold(receiver, base, 'receiver')]).then(() => undefined);
  let releasing: Promise<void> | undefined;
  const release = (): Promise<void> =>
    (releasing ??= taking.then(() =>
      Promise.all(held.map((r) => r().catch((err: unknown) => ctx.log.warn({ filesystem: fs, tag, err: (err as Error).message }, 'could not release the step\'s hold: a later pruning reports the snapshot kept (zfs release it by hand)')))).then(() => undefined),
    ));
  try {
    return await work({ held: taking, release: () => void release() });
  } finally {
    await release();
  }
}

/**
 * After a filesystem's last step: the sender's cursor bookmark for this receiver moves to the
 * version the receiver now holds (OpenZFS), so sender pruning may destroy that snapshot and the
 * next run still sends incrementally from the bookmark. Only after the last step: an earlier
 * step's cursor would be replaced a moment later, and a run that stops halfway keeps the previous
 * cursor, still a version the receiver holds. Where zfs has no bookmarks nothing happens: the
 * protected version stays a snapshot. A failure only logs: the step itself succeeded.
 */
async function moveCursor(sender: StorageDriver, receiver: StorageDriver, input: ReplicateStepInput, ctx: EffectContext): Promise<void> {
  if (!sender.setBookmark || input.index !== input.total - 1) return;
  try {
    await sender.setBookmark(input.filesystem, input.step.to, cursorName(receiver.endpoint));
  } catch (err) {
    ctx.log.warn({ filesystem: input.filesystem, to: input.step.to.name, err: (err as Error).message }, 'could not move the replication cursor (bookmark)');
  }
}

/** The step's send flags, receive overrides and bandwidth limit, each undefined when the job sets none. */
function streamOptions(input: ReplicateStepInput): { flags?: SendFlags; overrides?: ReceiveOverrides; limit?: number } {
  const o = input.send;
  if (!o) return {};
  const { raw, compressed, largeBlocks, properties, allowDecryptedSend, receiveSet, receiveExclude, bandwidthLimit } = o;
  const flags = raw || compressed || largeBlocks || properties || allowDecryptedSend ? { raw, compressed, largeBlocks, properties, allowDecryptedSend } : undefined;
  const overrides = receiveSet?.length || receiveExclude?.length ? { receiveSet, receiveExclude } : undefined;
  return { flags, overrides, limit: bandwidthLimit && bandwidthLimit > 0 ? bandwidthLimit : undefined };
}

/**
 * The sender's stream for the step: where the receiver kept an interrupted receive of exactly this
 * step (OpenZFS `receive_resume_token`), the rest of that stream (`zfs send -t`), else the whole
 * stream (the receiver then drops the stale partial state before receiving). Where the receiver
 * says which stream protocol it reads (btrfs), the sender is told.
 */
async function openSend(sender: StorageDriver, receiver: StorageDriver, fs: string, from: Version | null, step: ReplicateStepInput['step'], ctx: EffectContext, flags: SendFlags | undefined): Promise<SendStream> {
  const streamProtocol = receiver.receiveProtocol ? await receiver.receiveProtocol() : undefined;
  const opts = { signal: ctx.signal, intermediates: step.intermediates, ...(flags ? { flags } : {}), ...(streamProtocol ? { streamProtocol } : {}) };
  const token = receiver.resumeToken ? await receiver.resumeToken(fs) : null;
  if (token) {
    try {
      const resumed = await sender.send(fs, from, step.to, { ...opts, resumeToken: token });
      ctx.log.info({ filesystem: fs, to: step.to.name, remaining: resumed.sizeEstimate ?? null }, 'resuming the interrupted receive of this step');
      return resumed;
    } catch (err) {
      if (!isResumeRefusal(err)) throw err;
      ctx.log.warn({ filesystem: fs, err: (err as Error).message }, 'the receiver\'s partial receive cannot be resumed for this step: sending afresh');
    }
  }
  return sender.send(fs, from, step.to, opts);
}
