import { InvalidArgumentError } from '../../errors/index.js';
import type { Sink } from '../contracts.js';
import { createFileSink } from './file-sink.js';
import { createS3Sink } from './s3-sink.js';

export { createFileSink } from './file-sink.js';
export { redactSinkUrl } from './s3-sink.js';

/**
 * The sink a URL names: `file:///abs/path` (a local directory, ./file-sink.ts) or
 * `s3://bucket/prefix?endpoint=URL` (./s3-sink.ts). Synchronous: it only parses and validates the
 * URL (InvalidArgumentError INVALID_SINK_URL); nothing is contacted until the first call.
 */
export function openSink(url: string): Sink {
  const scheme = typeof url === 'string' ? /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() : undefined;
  if (scheme === 'file') return createFileSink(url);
  if (scheme === 's3') return createS3Sink(url);
  throw new InvalidArgumentError(`unsupported sink URL ${JSON.stringify(url)}: use file:///abs/path or s3://bucket/prefix?endpoint=URL`, {
    code: 'INVALID_SINK_URL',
  });
}
