import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { chmod, lstat, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FerryError, PermanentError, TemporaryError } from '../errors/index.js';

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isAbortError(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}

/** Conditions that can clear up by themselves; everything else (EACCES, EROFS, ENOTDIR...) will not. */
const TEMPORARY_FS_CODES = new Set(['EBUSY', 'EAGAIN', 'EINTR', 'EMFILE', 'ENFILE', 'ENOSPC', 'EDQUOT', 'ETXTBSY', 'ETIMEDOUT']);

/** Turn a node:fs failure into the error roots machines decide on; other errors pass unchanged. */
export function classifyError(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const code = errnoCode(err);
  if (code === undefined || !code.startsWith('E')) return err;
  const message = `${what}: ${(err as Error).message}`;
  return TEMPORARY_FS_CODES.has(code)
    ? new TemporaryError(message, { code, cause: err })
    : new PermanentError(message, { code, cause: err });
}

export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** rm -rf that also works when a snapshot tree holds read-only directories (non-root users). */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    if (errnoCode(err) !== 'EACCES' && errnoCode(err) !== 'EPERM') throw err;
    await makeWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function makeWritable(path: string): Promise<void> {
  const st = await lstatOrNull(path);
  if (!st?.isDirectory()) return;
  await chmod(path, 0o700);
  for (const name of await readdir(path)) await makeWritable(join(path, name));
}

/** Creates `path` (it must not exist) with `data`, fsynced before it is closed. */
export async function writeFileSynced(path: string, data: string | Buffer): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Write-temp, fsync, rename: readers see the old or the new content, never a torn file. The temp
 * file is hidden (`.<name>.tmp-…`, so listings skip it) and removed on any failure.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomHex(6)}`);
  try {
    await writeFileSynced(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Write chunks into a new file (never an existing inode: 'wx'), hashing what is written.
 * The file is created 0600 and gets its real mode from the caller once complete.
 */
export async function writeHashed(path: string, chunks: AsyncIterable<Buffer | Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const fh = await open(path, 'wx', 0o600);
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      // write() may be short; loop so no byte is lost silently.
      for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), size };
}
