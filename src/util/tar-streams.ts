import type { Readable } from 'node:stream';
import type tar from 'tar-stream';

/** Waits until a streamx stream drains or closes (resolves either way; the caller checks state). */
function drainOrClose(s: { on(e: string, f: () => void): unknown; off(e: string, f: () => void): unknown }): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => (cleanup(), resolve(true));
    const onClose = () => (cleanup(), resolve(false));
    const cleanup = () => {
      s.off('drain', onDrain);
      s.off('close', onClose);
    };
    s.on('drain', onDrain);
    s.on('close', onClose);
  });
}

/**
 * Adds one entry to a tar-stream pack, honoring backpressure; `chunks` null for entries without a
 * body (directories). Rejects if the pack is destroyed (abort, consumer gone).
 */
export function writeTarEntry(pack: tar.Pack, header: Parameters<tar.Pack['entry']>[0], chunks: AsyncIterable<Buffer> | Buffer[] | null): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    const sink = pack.entry(header, done);
    sink.on('error', () => undefined); // reported through the entry callback; an unheard 'error' would crash the process
    if (chunks === null) return;
    void (async () => {
      for await (const chunk of chunks) {
        if (!sink.write(chunk) && !(await drainOrClose(sink))) throw new Error('tar entry closed');
      }
      sink.end(undefined);
    })().catch((err) => {
      sink.destroy(err);
      reject(err);
    });
  });
}

/**
 * Feeds a node stream into a tar-stream extractor with backpressure, passing each chunk to `tap`
 * first. A failure of the source destroys the extractor with `mapError(err)` and rejects.
 */
export async function feedExtract(
  input: Readable, extract: tar.Extract, opts: { tap?: (chunk: Buffer) => void; mapError?: (err: unknown) => unknown } = {},
): Promise<void> {
  try {
    for await (const chunk of input) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      opts.tap?.(buf);
      if (extract.destroyed) return;
      if (!extract.write(buf)) await drainOrClose(extract);
    }
    extract.end(undefined);
  } catch (err) {
    extract.destroy((opts.mapError ? opts.mapError(err) : err) as Error);
    throw err;
  }
}
