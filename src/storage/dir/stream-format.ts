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
/** A header bigger than this is not a header: refuse it before buffering it. */
export const MAX_HEADER_BYTES = 512 * 1024 * 1024;

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
