import type { Readable } from 'node:stream';
import { lsnName } from './log-source/names.js';

/**
 * Contracts of the WAL archiver: a log source on a storage node (partitions of entries numbered
 * by LSN, with committed and acknowledged positions) and a sink in object storage.
 */

export interface PartitionRef {
  storage: string;
  partition: string;
}

/** What a log source tells about one partition. */
export interface PartitionState extends PartitionRef {
  /** lowest LSN still present (entries below were pruned); committed + 1 when no entry is present */
  lowWaterMark: number;
  /** highest committed LSN (appended entries above it are not archived yet) */
  highWaterMark: number;
  /** acknowledged positions by consumer name */
  positions: Record<string, number>;
}

export interface LogSource {
  /** e.g. "/var/lib/node/wal" */
  readonly root: string;
  listPartitions(): Promise<PartitionState[]>;
  partitionState(p: PartitionRef): Promise<PartitionState>;
  /** the committed entry `lsn` as a deterministic tarball (same content, same bytes); PermanentError if missing */
  readEntry(p: PartitionRef, lsn: number, signal?: AbortSignal): Promise<{ stream: Readable; size?: number }>;
  /** records that `consumer` has everything up to `lsn`; never moves a position backwards */
  acknowledge(p: PartitionRef, consumer: string, lsn: number): Promise<void>;
  /** removes entries below the lowest acknowledged position of all registered consumers; returns how many */
  prune(p: PartitionRef): Promise<number>;
}

/**
 * A log source as the archiver uses it: after each entry it acknowledges and prunes in one call,
 * which a source may do cheaper than the two (the file source reads the committed LSN once).
 */
export interface ArchiverLogSource extends LogSource {
  /** `acknowledge(p, consumer, lsn)` then `prune(p)`; returns how many entries were pruned */
  acknowledgeAndPrune(p: PartitionRef, consumer: string, lsn: number): Promise<number>;
}

export interface SinkObjectInfo {
  key: string;
  size: number;
  /** hex sha256 of the object's bytes */
  sha256: string;
}

/**
 * Object storage. Keys are `<storage>/<partition>/<lsn>.tar` with the LSN zero-padded so keys sort
 * by LSN. A failed put leaves no object. Errors are typed: a sink that is unreachable or throttling
 * throws TemporaryError with code SINK_UNAVAILABLE (every partition on it backs off together).
 */
export interface Sink {
  /** e.g. "file:///srv/archive" or "s3://bucket/prefix?endpoint=http://127.0.0.1:8080" */
  readonly url: string;
  /**
   * where the objects are, without credentials or options that do not change it (region, a
   * trailing '/'): two URLs with one location are one sink. Part of a partition's identity.
   */
  readonly location: string;
  head(key: string): Promise<SinkObjectInfo | null>;
  /**
   * writes the object only if absent; `sha256` is stored with it. Returns the object found there
   * already (left as it is: the caller compares checksums), or null when there was none, so a
   * caller needs no head() of its own before a put
   */
  put(key: string, body: Readable | Buffer, info: { sha256: string; size: number }, signal?: AbortSignal): Promise<SinkObjectInfo | null>;
  get(key: string, signal?: AbortSignal): Promise<Readable>;
  /** keys under a prefix, sorted */
  list(prefix: string): Promise<string[]>;
  /**
   * removes what puts killed mid-write left behind and older than `olderThanMs` (a sink whose
   * failed puts leave nothing has no such method); returns how many were removed
   */
  removeOrphans?(olderThanMs: number): Promise<number>;
}

export function entryKey(p: PartitionRef, lsn: number): string {
  // the entry's own name in the log source, so restore maps keys back with parseLsnName
  return `${p.storage}/${p.partition}/${lsnName(lsn)}.tar`;
}
