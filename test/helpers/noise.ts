import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;
const WINDOW = 64 * 1024;
/** one random pool, made once per process */
let pool: Buffer | null = null;
let calls = 0;

/**
 * `size` bytes no compressor shrinks, made cheaply: each MiB is a window of one random pool, at an
 * offset that moves with the MiB and the call, so no two records of a file or of two calls are
 * alike. In the OpenZFS VM (an emulated CPU without AES-NI) `randomBytes` made about a MiB every
 * few hundred ms, and its tests write over a GiB; copying runs at memory speed there.
 */
export function noise(size: number): Buffer {
  pool ??= randomBytes(MiB + WINDOW);
  const salt = ++calls * 7919;
  const out = Buffer.allocUnsafe(size);
  for (let off = 0, i = 0; off < size; off += MiB, i++) {
    const start = (salt + i * 4099) % WINDOW;
    pool.copy(out, off, start, start + Math.min(MiB, size - off));
  }
  return out;
}

/** Writes `mib` MiB of noise() to a new file at `path`, streamed a MiB at a time. */
export async function writeNoiseFile(path: string, mib: number): Promise<void> {
  async function* chunks() {
    for (let i = 0; i < mib; i++) yield noise(MiB);
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path, { flags: 'wx' }));
}
