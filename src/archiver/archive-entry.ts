import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LEGACY_CONSUMER, type AcknowledgeInput, type ArchiveEntryInput, type ArchiveEntryOutput } from '../../machines/partition.js';
import type { EffectContext } from '../engine/types.js';
import { PermanentError, TemporaryError, FerryError } from '../errors/index.js';
import type { ArchiverMetrics } from './metrics.js';
import { isoTime } from '../util/time.js';
import { entryKey, type PartitionRef, type Sink } from './contracts.js';
import { openLogSource } from './open-log-source.js';
import { openSink } from './sinks/index.js';
import type { SinkBackoff } from './sink-backoff.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** One entry read from the log source, ready to put. */
interface ReadEntry {
  lsn: number;
  body: Buffer;
  sha256: string;
}

async function readEntry(source: ReturnType<typeof openLogSource>, ref: PartitionRef, lsn: number, signal: AbortSignal): Promise<ReadEntry> {
  const { stream } = await source.readEntry(ref, lsn, signal);
  const body = await readAll(stream);
  return { lsn, body, sha256: createHash('sha256').update(body).digest('hex') };
}

/**
 * Archives the committed entries `lsn..upTo` (only `lsn` without `upTo`: an effect queued before
 * batches), strictly in order, one put at a time: each entry's deterministic tarball goes to the
 * sink unless an object with the same checksum is already there (then it counts as present; a
 * different checksum is a permanent error, never an overwrite). The next entry is read from the
 * log source while the current one is put. The consumer position then moves once, to the highest
 * entry archived (all below it are archived: the batch is contiguous), and the source prunes once.
 *
 * A failure after some entries were archived ends the batch there with those entries as its result
 * (acknowledged), so none is archived twice; the machine's next effect starts at the failing entry
 * and meets the failure itself. A failure at the first entry is the effect's error.
 */
export async function archiveEntry(input: ArchiveEntryInput, ctx: EffectContext, deps: { metrics: ArchiverMetrics; backoff: SinkBackoff }): Promise<ArchiveEntryOutput> {
  const ref = { storage: input.storage, partition: input.partition };
  const consumer = input.consumer ?? LEGACY_CONSUMER;
  const last = Math.max(input.lsn, input.upTo ?? input.lsn);
  const backoff = await deps.backoff.check(input.sink);
  if (backoff.activeUntil !== null) {
    deps.metrics.walArchive.inc({ status: 'fail' });
    throw new TemporaryError(`sink ${input.sink} is backing off after a failure until ${isoTime(backoff.activeUntil)}`, { code: 'SINK_BACKOFF' });
  }
  const source = openLogSource(input.log);
  const sink = openSink(input.sink);
  const out = { status: 'archived' as ArchiveEntryOutput['status'], bytes: 0, archived: 0, present: 0, lastLsn: input.lsn - 1 };
  let next: Promise<ReadEntry> | null = readEntry(source, ref, input.lsn, ctx.signal);
  let cleared = !backoff.recorded;
  try {
    while (next) {
      const started = process.hrtime.bigint();
      const entry: ReadEntry = await next;
      // read ahead: the next entry comes off the log source while this one goes to the sink
      next = entry.lsn < last && !ctx.signal.aborted ? readEntry(source, ref, entry.lsn + 1, ctx.signal) : null;
      next?.catch(() => undefined); // its failure is seen (and handled) when it is awaited
      const status = await putEntry(sink, input, ref, entry, ctx.signal, deps.backoff);
      // a success clears a (lapsed) backoff; with none recorded at the check there is nothing to clear: one
      // Redis round trip less (a failure recorded meanwhile stands, as if it came after this success)
      if (!cleared) {
        await deps.backoff.succeeded(input.sink);
        cleared = true;
      }
      out.lastLsn = entry.lsn;
      out.bytes += entry.body.length;
      out[status] += 1;
      out.status = status;
      deps.metrics.walArchive.inc({ status: status === 'present' ? 'skipped' : 'success' });
      deps.metrics.walArchiveLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      ctx.progress({ bytes: out.bytes, entries: out.archived + out.present });
    }
  } catch (err) {
    const low = out.lastLsn < input.lsn && isMissing(err) ? (await source.partitionState(ref)).lowWaterMark : 0;
    if (input.lsn < low) {
      // pruned: the machine is behind the log (a failover took back its progress, not the
      // archiving it did): what was pruned was archived, unless the sink says otherwise
      out.lastLsn = await presentBelow(sink, ref, input, Math.min(last, low - 1), low);
      out.present = out.lastLsn - input.lsn + 1;
      out.status = 'present';
      ctx.log.info({ lsn: input.lsn, upTo: out.lastLsn }, 'entries already pruned from the log source are in the sink: the machine was behind');
    } else if (out.lastLsn < input.lsn) {
      deps.metrics.walArchive.inc({ status: 'fail' });
      throw err;
    } else {
      // not counted as a failure here: the next effect meets it again and counts it
      ctx.log.info({ err: err instanceof Error ? err.message : String(err), lsn: out.lastLsn + 1 }, 'archive batch ended early; the next effect retries from the failing entry');
    }
  }
  try {
    await source.acknowledgeAndPrune(ref, consumer, out.lastLsn);
  } catch (err) {
    // the batch is retried whole: its entries are then found present in the sink
    deps.metrics.walArchive.inc({ status: 'fail' });
    throw err;
  }
  return out;
}

function isMissing(err: unknown): boolean {
  return err instanceof FerryError && err.code === 'ENTRY_NOT_FOUND';
}

/**
 * The first entry of a batch was pruned from the log source (every consumer acknowledged it). When
 * the sink holds every entry from it to `upTo` (below the lowest entry present), they were archived
 * before: returns `upTo`. Otherwise they are lost to this sink: a TemporaryError (ENTRY_PRUNED), so
 * the machine waits and the next notification's gap rule skips ahead and counts the gap, instead of
 * a Failed partition that a reset would only fail again.
 */
async function presentBelow(sink: Sink, ref: PartitionRef, input: ArchiveEntryInput, upTo: number, low: number): Promise<number> {
  for (let lsn = input.lsn; lsn <= upTo; lsn++) {
    if (!(await sink.head(entryKey(ref, lsn)))) {
      throw new TemporaryError(`entry ${lsn} of ${input.storage}/${input.partition} was pruned from the log source (lowest present: ${low}) and is not in the sink: a gap, skipped at the next notification`, {
        code: 'ENTRY_PRUNED', details: { lsn, lowWaterMark: low },
      });
    }
  }
  return upTo;
}

/** Puts one entry: 'archived', or 'present' when the sink holds the same content already; never overwrites. */
async function putEntry(sink: Sink, input: ArchiveEntryInput, ref: PartitionRef, entry: ReadEntry, signal: AbortSignal, backoff: SinkBackoff): Promise<'archived' | 'present'> {
  const key = entryKey(ref, entry.lsn);
  try {
    // put() looks for the object itself and hands back one that is there: one head per entry, not two
    const existing = await sink.put(key, entry.body, { sha256: entry.sha256, size: entry.body.length }, signal);
    if (!existing) return 'archived';
    if (existing.sha256 !== entry.sha256) {
      throw new PermanentError(
        `entry ${entry.lsn} of ${input.storage}/${input.partition} is already in the sink as ${key} with different content (sha256 ${existing.sha256}, local ${entry.sha256}); ferry never overwrites an archived entry: inspect both, remove the wrong one, then run \`ferry archive reset ${input.storage}/${input.partition} --consumer ${input.consumer ?? LEGACY_CONSUMER}\` (ResetPartition)`,
        { code: 'CHECKSUM_MISMATCH' },
      );
    }
    return 'present';
  } catch (err) {
    if (err instanceof FerryError && err.code === 'SINK_UNAVAILABLE') await backoff.failed(input.sink, err);
    throw err;
  }
}

/** Re-acknowledges the position (a notification with nothing new), so the source can prune. */
export async function acknowledgeEntry(input: AcknowledgeInput): Promise<void> {
  const source = openLogSource(input.log);
  const ref = { storage: input.storage, partition: input.partition };
  await source.acknowledgeAndPrune(ref, input.consumer ?? LEGACY_CONSUMER, input.lsn);
}
