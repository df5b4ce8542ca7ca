import { createHash } from 'node:crypto';
import { lstat, link, mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FerryError, InvalidArgumentError, PermanentError, TemporaryError } from '../../errors/index.js';
import { errnoCode, hashFile, isAbortError, randomHex, writeFileAtomic } from '../../util/fs.js';
import { syncDir } from '../log-source/fsio.js';
import type { Sink, SinkObjectInfo } from '../contracts.js';

/**
 * A sink in a local directory (`file:///abs/path`): the object `<key>` is the file `<path>/<key>`,
 * and its sha256 is kept beside it in `<path>/<key>.sha256` (sha256sum format: "<hex>  <name>\n").
 * Names starting with '.' are the sink's temp files; keys may not use them, nor end in `.sha256`.
 */

const SIDE_SUFFIX = '.sha256';
const HEX64 = /^[0-9a-f]{64}$/;
/** a put's temp file (and its checksum file's): `.<name>.tmp-<hex>` */
const TEMP_NAME = /^\..+\.tmp-[0-9a-f]+$/;

/** Errors that clear up by themselves (full disk, I/O error, too many open files...): retried with backoff. */
const TEMPORARY_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'EINTR', 'ETIMEDOUT', 'ESTALE', 'ENOTCONN', 'EHOSTDOWN']);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * node:fs failures of the sink as the archiver decides on them: temporary ones are TemporaryError
 * SINK_UNAVAILABLE (every partition on the sink backs off together), permission problems are
 * PermanentError SINK_PERMISSION_DENIED, anything else with an errno is PermanentError SINK_ERROR.
 * Errors that are already typed, aborts and errors without an errno pass unchanged.
 */
export function classifySinkError(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const code = errnoCode(err);
  if (code === undefined || !/^E[A-Z0-9]+$/.test(code)) return err; // errno codes only (not ERR_*)
  const message = `file sink: ${what}: ${(err as Error).message}`;
  const opts = { cause: err, details: { errno: code } };
  if (TEMPORARY_CODES.has(code)) return new TemporaryError(message, { ...opts, code: 'SINK_UNAVAILABLE' });
  if (PERMISSION_CODES.has(code)) return new PermanentError(message, { ...opts, code: 'SINK_PERMISSION_DENIED' });
  return new PermanentError(message, { ...opts, code: 'SINK_ERROR' });
}

function invalidKey(key: unknown, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid sink key ${JSON.stringify(key)}: ${why}`, { code: 'INVALID_KEY', details: { key: String(key) } });
}

/** Keys are relative '/'-separated paths; each segment a plain name that does not start with '.'. */
function assertSinkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw invalidKey(key, 'must be a non-empty string');
  if (key.length > 1024 || key.includes('\0') || key.includes('\\')) throw invalidKey(key, 'is too long or contains NUL or a backslash');
  for (const s of key.split('/')) {
    if (s === '' || s === '.' || s === '..') throw invalidKey(key, "must be a relative path without '.', '..' or empty segments");
    if (s.startsWith('.')) throw invalidKey(key, "segments may not start with '.' (reserved for the sink's temp files)");
  }
  if (key.endsWith(SIDE_SUFFIX)) throw invalidKey(key, `may not end in ${SIDE_SUFFIX} (reserved for checksums)`);
}

function assertPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw invalidKey(prefix, 'prefix must be a string');
  if (prefix.startsWith('/') || prefix.includes('\0') || prefix.includes('\\') || prefix.split('/').some((s) => s === '.' || s === '..')) {
    throw invalidKey(prefix, "prefix must be relative, without '.' or '..' segments");
  }
}

/** The directory of a `file:` URL; InvalidArgumentError INVALID_SINK_URL for anything else. */
function fileSinkPath(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`invalid sink URL ${JSON.stringify(url)}: expected file:///abs/path`, { code: 'INVALID_SINK_URL' });
  }
  if (parsed.protocol !== 'file:') throw new InvalidArgumentError(`invalid sink URL ${JSON.stringify(url)}: not a file: URL`, { code: 'INVALID_SINK_URL' });
  if (parsed.host !== '' && parsed.host !== 'localhost') {
    throw new InvalidArgumentError(`invalid sink URL ${JSON.stringify(url)}: a file sink is local, the host must be empty (file:///abs/path)`, { code: 'INVALID_SINK_URL' });
  }
  if (parsed.search || parsed.hash) throw new InvalidArgumentError(`invalid sink URL ${JSON.stringify(url)}: no query or fragment allowed`, { code: 'INVALID_SINK_URL' });
  const path = fileURLToPath(parsed).replace(/\/+$/, '');
  if (path === '' || path === sep) throw new InvalidArgumentError(`invalid sink URL ${JSON.stringify(url)}: refusing the filesystem root`, { code: 'INVALID_SINK_URL' });
  return path;
}

async function readSideFile(path: string): Promise<string | null> {
  try {
    const hex = (await readFile(path, 'utf8')).slice(0, 64);
    return HEX64.test(hex) ? hex : null;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** Marks an error thrown by the body the caller gave put(): it is the caller's, not the sink's. */
class BodyFailure {
  constructor(readonly error: unknown) {}
}

export function createFileSink(url: string): Sink {
  const root = fileSinkPath(url);
  const objectPath = (key: string) => join(root, ...key.split('/'));

  /** The object stored at `path` (what head() answers), or null; errors are left to the caller to classify. */
  async function stored(key: string, path: string): Promise<SinkObjectInfo | null> {
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null;
      throw err;
    }
    if (!st.isFile()) throw new PermanentError(`file sink: ${path} (key ${key}) is not a regular file`, { code: 'SINK_ERROR', details: { key } });
    let sha256 = await readSideFile(path + SIDE_SUFFIX);
    if (sha256 === null) {
      // an object whose checksum file is missing (a crash between link and checksum): hash the bytes, keep it
      sha256 = (await hashFile(path)).sha256;
      await writeFileAtomic(path + SIDE_SUFFIX, `${sha256}  ${basename(path)}\n`).catch(() => undefined);
    }
    return { key, size: st.size, sha256 };
  }

  async function head(key: string): Promise<SinkObjectInfo | null> {
    assertSinkKey(key);
    try {
      return await stored(key, objectPath(key));
    } catch (err) {
      throw classifySinkError(err, `head ${key}`);
    }
  }

  async function put(key: string, body: Readable | Buffer, info: { sha256: string; size: number }, signal?: AbortSignal): Promise<SinkObjectInfo | null> {
    assertSinkKey(key);
    if (typeof info?.sha256 !== 'string' || !HEX64.test(info.sha256)) {
      throw new InvalidArgumentError(`put ${key}: sha256 must be 64 lowercase hex digits`, { code: 'INVALID_ARGUMENT' });
    }
    if (!Number.isSafeInteger(info.size) || info.size < 0) throw new InvalidArgumentError(`put ${key}: invalid size ${info.size}`, { code: 'INVALID_ARGUMENT' });
    const path = objectPath(key);
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.tmp-${randomHex(6)}`);
    const destroyBody = (reason?: unknown) => {
      if (!Buffer.isBuffer(body)) body.destroy(reason as Error | undefined);
    };
    const onAbort = () => destroyBody(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let created = false;
    try {
      signal?.throwIfAborted();
      const existing = await stored(key, path);
      if (existing) {
        destroyBody(); // never overwrite: the object is there already
        return existing;
      }
      const fh = await openNewIn(dir, tmp);
      created = true;
      const hash = createHash('sha256');
      let size = 0;
      try {
        const chunks: AsyncIterator<Buffer | Uint8Array> = Buffer.isBuffer(body) ? single(body) : body[Symbol.asyncIterator]();
        for (;;) {
          let next: IteratorResult<Buffer | Uint8Array>;
          try {
            next = await chunks.next();
          } catch (err) {
            throw new BodyFailure(err);
          }
          if (next.done) break;
          signal?.throwIfAborted();
          const chunk = next.value;
          hash.update(chunk);
          size += chunk.length;
          for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        }
        signal?.throwIfAborted();
        await fh.sync();
      } finally {
        await fh.close();
      }
      const sha256 = hash.digest('hex');
      if (size !== info.size || sha256 !== info.sha256) {
        throw new PermanentError(`put ${key}: the body has ${size} bytes with sha256 ${sha256}, but ${info.size} bytes with sha256 ${info.sha256} were announced`, {
          code: 'CHECKSUM_MISMATCH',
          details: { key, size, sha256, expectedSize: info.size, expectedSha256: info.sha256 },
        });
      }
      try {
        await link(tmp, path); // atomic and never replaces: EEXIST if someone else put it meanwhile
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') return null; // leave the existing object alone (it was not there at the check)
        if (errnoCode(err) === 'ENOENT') {
          // removeOrphans took the temp file of this (very slow) put: nothing was stored, try again
          throw new TemporaryError(`file sink: put ${key}: its temp file was removed as an orphan before it was linked`, { code: 'SINK_TEMP_REMOVED', cause: err, details: { key } });
        }
        throw err;
      }
      await writeFileAtomic(path + SIDE_SUFFIX, `${sha256}  ${basename(path)}\n`);
      await syncDir(dir);
      return null;
    } catch (err) {
      destroyBody();
      if (err instanceof BodyFailure) throw err.error;
      if (signal?.aborted && !(err instanceof FerryError)) throw signal.reason;
      throw classifySinkError(err, `put ${key}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (created) await unlink(tmp).catch(() => undefined);
    }
  }

  async function get(key: string, signal?: AbortSignal): Promise<Readable> {
    assertSinkKey(key);
    const path = objectPath(key);
    try {
      signal?.throwIfAborted();
      const fh = await open(path, 'r').catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') {
          throw new PermanentError(`file sink: no object ${key} in ${root}`, { code: 'OBJECT_NOT_FOUND', details: { key } });
        }
        throw err;
      });
      // opened before returning: a missing object or a permission problem fails here, not mid-stream
      const stream = fh.createReadStream();
      return signal ? addAbortSignal(signal, stream) : stream;
    } catch (err) {
      throw classifySinkError(err, `get ${key}`);
    }
  }

  async function list(prefix: string): Promise<string[]> {
    assertPrefix(prefix);
    // walk only below the deepest directory the prefix names whole
    const cut = prefix.lastIndexOf('/');
    const base = cut === -1 ? '' : prefix.slice(0, cut);
    const keys: string[] = [];
    async function visit(dir: string, rel: string): Promise<void> {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
        throw err;
      }
      for (const name of names) {
        if (name.startsWith('.')) continue; // temp files
        const r = rel ? `${rel}/${name}` : name;
        if (!r.startsWith(prefix) && !prefix.startsWith(`${r}/`)) continue;
        const st = await lstat(join(dir, name)).catch(() => null);
        if (st?.isDirectory()) await visit(join(dir, name), r);
        else if (st?.isFile() && !name.endsWith(SIDE_SUFFIX) && r.startsWith(prefix)) keys.push(r);
      }
    }
    try {
      await visit(base ? join(root, ...base.split('/')) : root, base);
    } catch (err) {
      throw classifySinkError(err, `list ${prefix}`);
    }
    return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /**
   * Removes the temp files of puts that died mid-write: any `.<name>.tmp-*` file not written to
   * for `olderThanMs`. A put writes its temp file and links it within one archive effect (a minute
   * at most before the engine gives up on it), so an old one has no live writer; should a writer
   * still be at it, its link finds no file and the put fails temporarily (retried), storing nothing.
   */
  async function removeOrphans(olderThanMs: number): Promise<number> {
    // inclusive, in whole ms (mtimes have fractions, Date.now() none): with age 0 a temp file written this very millisecond is one too
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    async function visit(dir: string): Promise<void> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) await visit(path);
        else if (e.isFile() && TEMP_NAME.test(e.name)) {
          const st = await lstat(path).catch(() => null);
          // gone meanwhile, or not ours to remove (permissions): left, it only takes space
          if (st && Math.floor(st.mtimeMs) <= cutoff && (await unlink(path).then(() => true, () => false))) removed++;
        }
      }
    }
    try {
      await visit(root);
    } catch (err) {
      throw classifySinkError(err, 'removing orphaned temp files');
    }
    return removed;
  }

  return { url, location: `file://${root}`, head, put, get, list, removeOrphans };
}

/** Creates `path` (never an existing file); its directory is made only when missing, not on every put. */
async function openNewIn(dir: string, path: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o644);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true });
  return open(path, 'wx', 0o644);
}

async function* single(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}
