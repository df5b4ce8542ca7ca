import { Transform } from 'node:stream';
import type { ReplicateStepInput, ReplicateStepOutput } from '../../machines/filesystem.js';
import type { EffectContext } from '../engine/types.js';
import type { ReplicationMetrics } from './metrics.js';
import type { SendStream, StorageDriver, Version } from '../storage/driver.js';
import { isResumeRefusal } from '../storage/resume.js';
import { openEndpoint } from '../storage/endpoint.js';

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
  const done = await transferStep(input, ctx);
  if (done.sent) metrics.replicationLatency.observe({ type }, (Date.now() - startedAt) / 1000);
  return { bytes: done.bytes };
}

/**
 * The sender's stream piped into the receiver, counting bytes for progress (which also feeds the
 * watchdog). Idempotent: a step whose `to` version already exists on the receiver (a retried job
 * whose first run finished) succeeds without sending (`sent` false).
 */
async function transferStep(input: ReplicateStepInput, ctx: EffectContext): Promise<{ bytes: number; sent: boolean }> {
  const sender = openEndpoint(input.sender);
  const receiver = openEndpoint(input.receiver);
  const { filesystem: fs, step } = input;
  const have = new Set((await receiver.listVersions(fs)).map((v) => v.guid));
  if (have.has(step.to.guid)) {
    ctx.log.info({ filesystem: fs, to: step.to.name }, 'receiver already has this version: step done');
    return { bytes: 0, sent: false };
  }
  let from = step.from;
  if (step.intermediates && step.from) {
    // a batch cut short keeps the snapshots that arrived complete: continue after the newest of them
    const after = step.from.createtxg;
    const arrived = (await sender.listVersions(fs)).filter((v) => v.createtxg > after && v.createtxg < step.to.createtxg && have.has(v.guid));
    if (arrived.length) {
      from = arrived[arrived.length - 1];
      ctx.log.info({ filesystem: fs, from: from.name }, 'part of this batch arrived in an earlier attempt: continuing from it');
    }
  }
  if (sender.transferTo) {
    // local sender and receiver of the same kind: the data goes process to process through OS pipes
    let counted = 0;
    ctx.progress({ bytes: 0 });
    const done = await sender.transferTo(receiver, fs, from, step.to, {
      signal: ctx.signal,
      intermediates: step.intermediates,
      onProgress: (b, total) => {
        counted = Math.max(counted, b);
        ctx.progress({ bytes: counted, total });
      },
    });
    if (done) {
      ctx.log.info({ filesystem: fs, from: step.from?.name ?? null, to: step.to.name, bytes: done.bytes, fastPath: true }, 'step replicated');
      return { bytes: done.bytes, sent: true };
    }
  }
  const { stream, sizeEstimate } = await openSend(sender, receiver, fs, from, step, ctx);
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
  stream.pipe(counter);
  try {
    await receiver.receive(fs, counter, { signal: ctx.signal });
  } catch (err) {
    // a receiver that gave up stops reading: end the send too (a local process or a remote call)
    stream.destroy();
    counter.destroy();
    throw err;
  }
  ctx.log.info({ filesystem: fs, from: step.from?.name ?? null, to: step.to.name, bytes }, 'step replicated');
  return { bytes, sent: true };
}

/**
 * The sender's stream for the step: where the receiver kept an interrupted receive of exactly this
 * step (OpenZFS `receive_resume_token`), the rest of that stream (`zfs send -t`), else the whole
 * stream (the receiver then drops the stale partial state before receiving).
 */
async function openSend(sender: StorageDriver, receiver: StorageDriver, fs: string, from: Version | null, step: ReplicateStepInput['step'], ctx: EffectContext): Promise<SendStream> {
  const opts = { signal: ctx.signal, intermediates: step.intermediates };
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
