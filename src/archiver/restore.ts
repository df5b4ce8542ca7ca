import { link, mkdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, PermanentError } from '../errors/index.js';
import { classifyError, errnoCode, lstatOrNull, randomHex, removeTree } from '../util/fs.js';
import { entryKey, type PartitionRef, type Sink, type SinkObjectInfo } from './contracts.js';
import { entrySha256, extractEntry } from './entry-tar.js';
import { assertLogName, assertLsn, lsnName, parseLsnName } from './log-source/names.js';

export interface RestoreProgress {
  lsn: number;
  key: string;
  /** entries in place so far, this one included */
  restored: number;
  /** entries the restore covers (toLsn - fromLsn + 1) */
  total: number;
  bytes: number;
  /** the entry was in `into` already with the same content (a re-run), nothing was written */
  present: boolean;
}

export interface RestoreOptions {
  sink: Sink;
  storage: string;
  partition: string;
  /** first LSN to restore; default: the lowest archived */
  fromLsn?: number;
  /** last LSN to restore; default: the highest archived */
  toLsn?: number;
  /** directory the entries go into, as `<into>/<lsn zero-padded to 20>` (created if missing) */
  into: string;
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
  /**
   * How the caller names `fromLsn` and `toLsn` in its errors, e.g. the CLI's `--from` and `--to-lsn`.
   * @defaultValue { from: 'fromLsn', to: 'toLsn' }
   */
  flags?: { from: string; to: string };
}

export interface RestoreResult {
  restored: number;
  firstLsn: number;
  lastLsn: number;
}

/**
 * Restores the archived entries `fromLsn..toLsn` of one partition, in LSN order, into `into`.
 * Each entry becomes `<into>/<lsn:20>`, a file or a directory exactly as it was in the log source's
 * `entries/` (so `into` can serve as a partition's entries directory). Every object is verified
 * against the sink's sha256 and size; it is extracted into a hidden staging directory inside
 * `into` and renamed into place, so an entry is restored whole or not at all.
 *
 * A missing LSN stops the restore with PermanentError GAP naming it; the entries before it stay
 * restored. An entry already in `into` counts as restored when its deterministic tarball has the
 * archived checksum (re-running a restore is harmless) and is a PermanentError RESTORE_CONFLICT
 * otherwise: nothing in `into` is ever overwritten.
 */
export async function restorePartition(o: RestoreOptions): Promise<RestoreResult> {
  const { sink, storage, partition, signal } = o;
  const flags = o.flags ?? { from: 'fromLsn', to: 'toLsn' };
  assertLogName('storage', storage);
  assertLogName('partition', partition);
  if (o.fromLsn !== undefined) assertLsn(o.fromLsn, flags.from);
  if (o.toLsn !== undefined) assertLsn(o.toLsn, flags.to);
  if (o.fromLsn !== undefined && o.toLsn !== undefined && o.fromLsn > o.toLsn) {
    throw new InvalidArgumentError(`invalid LSN range: ${flags.from} ${o.fromLsn} is above ${flags.to} ${o.toLsn}`, { code: 'INVALID_LSN' });
  }
  if (typeof o.into !== 'string' || o.into.length === 0) {
    throw new InvalidArgumentError(`invalid restore target ${JSON.stringify(o.into)}: must be a directory path`, { code: 'INVALID_ARGUMENT' });
  }
  const into = resolve(o.into);
  const ref: PartitionRef = { storage, partition };
  const where = `${storage}/${partition} in ${sink.url}`;

  const prefix = `${storage}/${partition}/`;
  const archived = new Set<number>();
  for (const key of await sink.list(prefix)) {
    const m = /^([0-9]+)\.tar$/.exec(key.slice(prefix.length));
    const lsn = m ? parseLsnName(m[1]) : null;
    if (lsn !== null && entryKey(ref, lsn) === key) archived.add(lsn);
  }
  const sorted = [...archived].sort((a, b) => a - b);
  const lowest = sorted[0];
  const highest = sorted[sorted.length - 1];
  if (sorted.length === 0 && (o.fromLsn === undefined || o.toLsn === undefined)) {
    throw new PermanentError(`nothing is archived for ${where} (no keys under ${prefix})`, {
      code: 'NOTHING_ARCHIVED',
      details: { storage, partition, sink: sink.url },
    });
  }
  const firstLsn = o.fromLsn ?? lowest;
  const lastLsn = o.toLsn ?? Math.max(highest, firstLsn);
  const total = lastLsn - firstLsn + 1;

  const gap = (lsn: number, restored: number): PermanentError => {
    const after = sorted.find((n) => n > lsn);
    const kept = restored > 0
      ? `entries ${firstLsn}..${lsn - 1} (${restored}) were restored into ${into} and stay there`
      : `nothing was restored into ${into}`;
    const next = after !== undefined ? `; the next archived LSN is ${after} (restore from there with ${flags.from} ${after})` : '';
    return new PermanentError(`gap in the archive of ${where}: LSN ${lsn} is not archived, restore stopped; ${kept}${next}`, {
      code: 'GAP',
      details: { storage, partition, sink: sink.url, missingLsn: lsn, restored, firstLsn, lastRestoredLsn: restored > 0 ? lsn - 1 : null, nextArchivedLsn: after ?? null },
    });
  };

  try {
    await mkdir(into, { recursive: true });
  } catch (err) {
    throw classifyError(err, `creating restore target ${into}`);
  }
  let restored = 0;
  for (let lsn = firstLsn; lsn <= lastLsn; lsn++) {
    signal?.throwIfAborted();
    const key = entryKey(ref, lsn);
    if (!archived.has(lsn)) throw gap(lsn, restored);
    const info = await sink.head(key);
    if (info === null) throw gap(lsn, restored); // listed, then gone
    const present = await restoreOne(sink, key, info, lsn, into, signal);
    restored++;
    o.onProgress?.({ lsn, key, restored, total, bytes: info.size, present });
  }
  return { restored, firstLsn, lastLsn };
}

/** Restores one object into `<into>/<lsn:20>`; true when an identical entry was there already. */
async function restoreOne(sink: Sink, key: string, info: SinkObjectInfo, lsn: number, into: string, signal?: AbortSignal): Promise<boolean> {
  const name = lsnName(lsn);
  const target = join(into, name);
  const staging = join(into, `.restore-${name}-${randomHex(6)}`);
  const conflict = (why: string) =>
    new PermanentError(`cannot restore ${key}: ${target} exists already and ${why}; nothing in the restore target is overwritten`, {
      code: 'RESTORE_CONFLICT',
      details: { key, path: target },
    });
  try {
    const stream = await sink.get(key, signal);
    const got = await extractEntry(stream, staging, { name, signal });
    if (got.sha256 !== info.sha256 || got.size !== info.size) {
      throw new PermanentError(`archived object ${key} in ${sink.url} is corrupt: read ${got.size} bytes with sha256 ${got.sha256}, the sink records ${info.size} bytes with sha256 ${info.sha256}`, {
        code: 'CHECKSUM_MISMATCH',
        details: { key, sha256: got.sha256, expectedSha256: info.sha256 },
      });
    }
    if (await lstatOrNull(target)) {
      let existing: string;
      try {
        existing = (await entrySha256(target, { name })).sha256;
      } catch (err) {
        throw conflict(`cannot be compared (${(err as Error).message})`);
      }
      if (existing !== info.sha256) throw conflict('holds different content');
      return true;
    }
    const src = join(staging, name);
    try {
      // link() for a file and rename() of a directory both refuse to replace an existing target
      if (got.type === 'file') await link(src, target);
      else await rename(src, target);
    } catch (err) {
      if (['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR'].includes(errnoCode(err) ?? '')) throw conflict('appeared during the restore');
      throw err;
    }
    return false;
  } catch (err) {
    throw classifyError(err, `restoring ${key} into ${into}`);
  } finally {
    await removeTree(staging).catch(() => undefined);
  }
}
