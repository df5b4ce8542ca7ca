import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LEGACY_CONSUMER, type AcknowledgeInput, type ArchiveEntryInput, type ArchiveEntryOutput } from '../../machines/partition.js';
import type { EffectContext } from '../engine/types.js';
import { PermanentError, TemporaryError, FerryError } from '../errors/index.js';
import type { ArchiverMetrics } from './metrics.js';
import { isoTime } from '../util/time.js';
import { entryKey } from './contracts.js';
import { openLogSource } from './open-log-source.js';
import { openSink } from './sinks/index.js';
import type { SinkBackoff } from './sink-backoff.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Archives one committed entry: its deterministic tarball goes to the sink unless an object with
 * the same checksum is already there (then it counts as archived; a different checksum is a
 * permanent error, never an overwrite). Then the consumer position moves and the source prunes.
 */
export async function archiveEntry(input: ArchiveEntryInput, ctx: EffectContext, deps: { metrics: ArchiverMetrics; backoff: SinkBackoff }): Promise<ArchiveEntryOutput> {
  const started = process.hrtime.bigint();
  const ref = { storage: input.storage, partition: input.partition };
  try {
    const backoff = await deps.backoff.check(input.sink);
    if (backoff.activeUntil !== null) {
      throw new TemporaryError(`sink ${input.sink} is backing off after a failure until ${isoTime(backoff.activeUntil)}`, { code: 'SINK_BACKOFF' });
    }
    const source = openLogSource(input.log);
    const sink = openSink(input.sink);
    const key = entryKey(ref, input.lsn);
    const { stream } = await source.readEntry(ref, input.lsn, ctx.signal);
    const body = await readAll(stream);
    const sha256 = createHash('sha256').update(body).digest('hex');
    ctx.progress({ bytes: body.length, entries: 0 });
    let status: ArchiveEntryOutput['status'] = 'archived';
    try {
      // put() looks for the object itself and hands back one that is there: one head per entry, not two
      const existing = await sink.put(key, body, { sha256, size: body.length }, ctx.signal);
      if (existing) {
        if (existing.sha256 !== sha256) {
          throw new PermanentError(
            `entry ${input.lsn} of ${input.storage}/${input.partition} is already in the sink as ${key} with different content (sha256 ${existing.sha256}, local ${sha256}); ferry never overwrites an archived entry: inspect both, remove the wrong one, then run \`ferry archive reset ${input.storage}/${input.partition} --consumer ${input.consumer ?? LEGACY_CONSUMER}\` (ResetPartition)`,
            { code: 'CHECKSUM_MISMATCH' },
          );
        }
        status = 'present';
      }
      // a success clears a (lapsed) backoff; with none recorded at the check there is nothing to clear: one
      // Redis round trip less per entry (a failure recorded meanwhile stands, as if it came after this success)
      if (backoff.recorded) await deps.backoff.succeeded(input.sink);
    } catch (err) {
      if (err instanceof FerryError && err.code === 'SINK_UNAVAILABLE') await deps.backoff.failed(input.sink, err);
      throw err;
    }
    await source.acknowledgeAndPrune(ref, input.consumer ?? LEGACY_CONSUMER, input.lsn);
    deps.metrics.walArchive.inc({ status: status === 'present' ? 'skipped' : 'success' });
    deps.metrics.walArchiveLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    ctx.progress({ bytes: body.length, entries: 1 });
    return { status, bytes: body.length };
  } catch (err) {
    deps.metrics.walArchive.inc({ status: 'fail' });
    throw err;
  }
}

/** Re-acknowledges the position (a notification with nothing new), so the source can prune. */
export async function acknowledgeEntry(input: AcknowledgeInput): Promise<void> {
  const source = openLogSource(input.log);
  const ref = { storage: input.storage, partition: input.partition };
  await source.acknowledgeAndPrune(ref, input.consumer ?? LEGACY_CONSUMER, input.lsn);
}
