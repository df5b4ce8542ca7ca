import { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { TemporaryError } from '../errors/index.js';
import { DEFAULT_PROGRESS_TIMEOUT_MS, stalledError, withinProgress } from './progress.js';
import { fromStatus } from './status.js';

/**
 * Both ends of the Endpoint service's server streams (Send, ReadEntry): one header message first,
 * then the bytes as chunks of at most MAX_CHUNK, with backpressure both ways.
 */

export const MAX_CHUNK = 256 * 1024;

/**
 * Agent side: writes `header`, then `stream` in chunks. `write` resolves when the call can take
 * more, so the stream is read only as fast as the client reads. Stops when `signal` aborts;
 * always destroys `stream`.
 */
export async function writeHeadered<H>(
  stream: Readable, header: H, write: (msg: { header: H } | { chunk: Buffer }) => Promise<void>, signal: AbortSignal,
): Promise<void> {
  // the loop below sees the stream's error; until it reads (the header waits for the client), an
  // error with no listener would crash the agent
  stream.on('error', () => {});
  try {
    await write({ header });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal.aborted) break;
      for (let i = 0; i < chunk.length && !signal.aborted; i += MAX_CHUNK) await write({ chunk: chunk.subarray(i, i + MAX_CHUNK) });
    }
  } finally {
    stream.destroy();
  }
}

/**
 * Client side: waits for the header, then returns it with the chunks as a Readable pulled as its
 * consumer reads (an unread stream stops reading the call, and HTTP/2 flow control stops the
 * agent). Aborting `signal` or destroying the Readable cancels the call; gRPC errors become
 * ferry's typed errors, prefixed with `where`. A message the consumer asks for that does not come
 * within `progressTimeoutMs` cancels the call with a temporary DEADLINE_EXCEEDED error (see progress.ts).
 */
export async function readHeadered<H>(
  call: grpc.ClientReadableStream<{ header?: H | null; chunk?: Buffer }>, where: string, signal?: AbortSignal,
  o: { tls?: boolean; target?: string; progressTimeoutMs?: number } = {},
): Promise<{ header: H; stream: Readable }> {
  let finished = false;
  const cancel = () => { if (!finished) { finished = true; call.cancel(); } };
  signal?.addEventListener('abort', cancel, { once: true });
  if (signal?.aborted) cancel();
  const messages = call[Symbol.asyncIterator]() as AsyncIterator<{ header?: H | null; chunk?: Buffer }>;
  const ms = o.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
  const next = (waitingFor: string) => withinProgress(messages.next(), ms, () => stalledError(where, waitingFor, ms), cancel);
  let first: IteratorResult<{ header?: H | null; chunk?: Buffer }>;
  try {
    first = await next('the header');
  } catch (err) {
    signal?.removeEventListener('abort', cancel);
    throw fromStatus(err, where, o);
  }
  const header = first.done ? null : first.value.header;
  if (!header) {
    signal?.removeEventListener('abort', cancel);
    cancel();
    throw new TemporaryError(`${where}: the agent did not start the stream with a header`, { code: 'PROTOCOL' });
  }
  const stream = Readable.from((async function* chunks() {
    for (;;) {
      let r: IteratorResult<{ header?: H | null; chunk?: Buffer }>;
      try {
        r = await next('the next chunk');
      } catch (err) {
        throw fromStatus(err, where, o);
      }
      if (r.done) { finished = true; return; }
      if (r.value.chunk?.length) yield r.value.chunk;
    }
  })(), { objectMode: false });
  stream.once('close', () => { signal?.removeEventListener('abort', cancel); cancel(); });
  return { header, stream };
}
