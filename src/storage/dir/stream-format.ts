import { PermanentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import type { Op } from './diff.js';
import type { Manifest } from './manifest.js';

/**
 * A dir send stream is a tar (tar-stream): first HEADER_ENTRY, a JSON StreamHeader, then one
 * entry `content/<i>` per `write` op i, in op order, carrying that file's bytes.
 */
export const STREAM_FORMAT = 'ferry-dir-v1';
export const HEADER_ENTRY = `${STREAM_FORMAT}.json`;
export const CONTENT_PREFIX = 'content/';
/**
 * The most a header may take, in bytes: it is buffered and parsed whole, so it bounds what one
 * stream can make a receiver hold in memory. A full send of a filesystem needs about 300 bytes
 * per file (its manifest entry and its write op), so this is about 100,000 files.
 */
export const MAX_HEADER_BYTES = 32 * 1024 * 1024;

/** Refuses a header over MAX_HEADER_BYTES (on send, before anything is streamed; on receive, before it is buffered). */
export function assertHeaderSize(bytes: number): void {
  if (bytes > MAX_HEADER_BYTES) {
    throw new PermanentError(
      `stream header of ${bytes} bytes or more is over the limit MAX_HEADER_BYTES (${MAX_HEADER_BYTES} bytes, about 100,000 files)`,
      { code: 'HEADER_TOO_LARGE', details: { limit: MAX_HEADER_BYTES, bytes } },
    );
  }
}

export interface StreamHeader {
  format: typeof STREAM_FORMAT;
  /** the sender's filesystem name, informational: the receiver's `fs` argument decides */
  fs: string;
  /** the sender's versions (createtxg is the sender's) */
  from: Version | null;
  to: Version;
  /** the complete `to` tree, which the receiver verifies its result against */
  manifest: Manifest;
  ops: Op[];
}

const BLOCK = 512;
const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** Exact byte length of the tar: a 512-byte header and padded body per entry, 1024 zero bytes at the end. */
export function streamSize(headerBytes: number, contentSizes: number[]): number {
  let total = BLOCK + padded(headerBytes) + 2 * BLOCK;
  for (const size of contentSizes) total += BLOCK + padded(size);
  return total;
}
