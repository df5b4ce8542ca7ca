import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { feedExtract, writeTarEntry } from '../util/tar-streams.js';
import { FerryError, PermanentError, TemporaryError } from '../errors/index.js';
import { classifyError, errnoCode, isAbortError, writeHashed } from '../util/fs.js';

/**
 * The archived form of one log entry: a tarball whose bytes depend only on the entry's names,
 * types and contents. Paths are sorted (by UTF-8 bytes), every header has mtime 0, uid/gid 0, empty
 * uname/gname, mode 0644 for files and 0755 for directories. The tarball's root is the entry's own
 * name (its LSN, zero-padded): a file entry is one file `<name>`, a directory entry is `<name>/`
 * followed by everything under it. Only regular files and directories are allowed in an entry.
 */

export const ENTRY_FILE_MODE = 0o644;
export const ENTRY_DIR_MODE = 0o755;
const EPOCH = new Date(0);
const BLOCK = 512;

interface Item {
  /** name in the tarball ('/'-terminated for directories) */
  name: string;
  abs: string;
  type: 'file' | 'directory';
  size: number;
}

const unsupported = (abs: string, what: string) =>
  new PermanentError(`log entry contains ${abs}, which is ${what}: an entry may only hold regular files and directories`, {
    code: 'UNSUPPORTED_ENTRY',
    details: { path: abs },
  });

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function walkEntry(abs: string, name: string): Promise<Item[]> {
  const st = await lstat(abs);
  if (st.isFile()) return [{ name, abs, type: 'file', size: st.size }];
  if (!st.isDirectory()) throw unsupported(abs, st.isSymbolicLink() ? 'a symbolic link' : 'neither a file nor a directory');
  const found: { rel: string; abs: string; type: 'file' | 'directory'; size: number }[] = [];
  async function visit(dir: string, rel: string): Promise<void> {
    for (const child of await readdir(dir)) {
      const a = join(dir, child);
      const r = rel ? `${rel}/${child}` : child;
      const s = await lstat(a);
      if (s.isFile()) found.push({ rel: r, abs: a, type: 'file', size: s.size });
      else if (s.isDirectory()) {
        found.push({ rel: r, abs: a, type: 'directory', size: 0 });
        await visit(a, r);
      } else throw unsupported(a, s.isSymbolicLink() ? 'a symbolic link' : 'neither a file nor a directory');
    }
  }
  await visit(abs, '');
  // A parent's path is a prefix of its children's, so it sorts (and is written) before them.
  found.sort((x, y) => byteOrder(x.rel, y.rel));
  return [
    { name: `${name}/`, abs, type: 'directory', size: 0 },
    ...found.map((f) => ({ name: `${name}/${f.rel}${f.type === 'directory' ? '/' : ''}`, abs: f.abs, type: f.type, size: f.size })),
  ];
}

// ---- exact size of what tar-stream writes (mirrors its headers.encode / encodePax) -------------

function ustarFits(full: string): boolean {
  let name = full;
  let prefix = '';
  if (Buffer.byteLength(name) !== name.length) return false; // non-ASCII: pax
  while (Buffer.byteLength(name) > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  return Buffer.byteLength(name) <= 100 && Buffer.byteLength(prefix) <= 155;
}

function paxRecordBytes(record: string): number {
  // the same arithmetic as tar-stream's addLength, so the result matches byte for byte
  const len = Buffer.byteLength(record);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return Buffer.byteLength(String(len + digits)) + len;
}

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

function headerBytes(name: string): number {
  if (ustarFits(name)) return BLOCK;
  return BLOCK + padded(paxRecordBytes(` path=${name}\n`)) + BLOCK;
}

function tarSize(items: Item[]): number {
  return items.reduce((n, it) => n + headerBytes(it.name) + padded(it.size), 0) + 2 * BLOCK;
}

// ---- packing ------------------------------------------------------------------------------------

export interface PackEntryOptions {
  /** the tarball's root name; default: the entry's base name (its zero-padded LSN) */
  name?: string;
  signal?: AbortSignal;
}

/**
 * The deterministic tarball of the entry at `path` (a file or a directory) as a node Readable,
 * with its exact size. The tree is listed before this returns (a symlink or special file is a
 * PermanentError UNSUPPORTED_ENTRY now, not in the middle of the stream); contents are read lazily.
 */
export async function packEntry(path: string, opts: PackEntryOptions = {}): Promise<{ stream: Readable; size: number }> {
  const name = opts.name ?? basename(path);
  assertTarRootName(name);
  let items: Item[];
  try {
    items = await walkEntry(path, name);
  } catch (err) {
    throw classifyError(err, `reading log entry ${path}`);
  }
  const size = tarSize(items);
  const { signal } = opts;
  signal?.throwIfAborted();
  const pack = tar.pack();
  const onAbort = () => pack.destroy(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  void (async () => {
    for (const it of items) {
      if (it.type === 'directory') await addEntry(pack, it, null);
      else {
        const file = createReadStream(it.abs);
        try {
          await addEntry(pack, it, file);
        } finally {
          file.destroy();
        }
      }
    }
    pack.finalize();
  })()
    .catch((err) => pack.destroy(classifyError(err, `reading log entry ${path}`) as Error))
    .finally(() => signal?.removeEventListener('abort', onAbort));
  // tar-stream streams are streamx; hand out a node Readable as the contracts say.
  return { stream: Readable.from(pack, { objectMode: false }), size };
}

function addEntry(pack: tar.Pack, it: Item, chunks: AsyncIterable<Buffer> | null): Promise<void> {
  const header = {
    name: it.name,
    type: it.type,
    size: it.size,
    mode: it.type === 'directory' ? ENTRY_DIR_MODE : ENTRY_FILE_MODE,
    mtime: EPOCH,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
  };
  return writeTarEntry(pack, header, chunks);
}

/** sha256 (hex) and byte count of everything a stream yields. */
export async function sha256Stream(stream: AsyncIterable<Buffer | Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** sha256 and size of the entry's deterministic tarball, without holding it in memory. */
export async function entrySha256(path: string, opts: PackEntryOptions = {}): Promise<{ sha256: string; size: number }> {
  const { stream } = await packEntry(path, opts);
  return sha256Stream(stream);
}

// ---- extraction ---------------------------------------------------------------------------------

export interface ExtractEntryOptions {
  /** the root name the tarball must have (e.g. the zero-padded LSN it was archived under) */
  name?: string;
  signal?: AbortSignal;
}

export interface ExtractedEntry {
  /** the tarball's root name, now `<into>/<name>` */
  name: string;
  type: 'file' | 'directory';
  /** sha256 and size of the tarball's bytes as read (everything the input yielded) */
  sha256: string;
  size: number;
}

const corrupt = (why: string, cause?: unknown) =>
  new PermanentError(`corrupt entry tarball: ${why}`, { code: 'CORRUPT_TAR', ...(cause === undefined ? {} : { cause }) });

function assertTarRootName(name: string): void {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new PermanentError(`invalid entry tarball root name ${JSON.stringify(name)}`, { code: 'INVALID_NAME' });
  }
}

/** Checks one path of the tarball (untrusted input) and returns its segments. */
function tarPathSegments(name: string, type: string): string[] {
  if (type !== 'file' && type !== 'directory') throw corrupt(`${JSON.stringify(name)} is a ${type}; only files and directories are allowed`);
  let p = name;
  if (type === 'directory' && p.endsWith('/')) p = p.slice(0, -1);
  if (p.startsWith('/')) throw corrupt(`absolute path ${JSON.stringify(name)}`);
  if (p.length === 0 || p.includes('\0') || p.length > 4096) throw corrupt(`invalid path ${JSON.stringify(name)}`);
  const segments = p.split('/');
  for (const s of segments) {
    if (s === '..') throw corrupt(`path ${JSON.stringify(name)} leaves the target directory ('..')`);
    if (s === '' || s === '.') throw corrupt(`path ${JSON.stringify(name)} is not a plain relative path`);
  }
  return segments;
}

/**
 * Extracts one entry tarball into `into` (created if missing): `<into>/<root name>` becomes the
 * entry's file or directory, with modes 0644/0755. Nothing existing is overwritten or followed:
 * every file and directory is created new (an existing `<into>/<name>` is a PermanentError
 * ENTRY_EXISTS), every path must stay under the root (no absolute paths, no '..'), and a child must
 * come after its parent directory. Returns the sha256 of the bytes read so callers can verify it;
 * on failure, what was extracted so far stays (extract into a staging directory for all-or-nothing).
 */
export async function extractEntry(input: Readable, into: string, opts: ExtractEntryOptions = {}): Promise<ExtractedEntry> {
  if (opts.name !== undefined) assertTarRootName(opts.name);
  const { signal } = opts;
  const extract = tar.extract();
  extract.on('error', () => undefined); // surfaces through the entry iterator
  const hash = createHash('sha256');
  let size = 0;
  const onAbort = () => extract.destroy(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let pumped: Promise<void> | undefined;
  try {
    signal?.throwIfAborted();
    await mkdir(into, { recursive: true });
    pumped = feedExtract(input, extract, { tap: (chunk) => {
      hash.update(chunk);
      size += chunk.length;
    } });
    pumped.catch(() => undefined);
    let root: { name: string; type: 'file' | 'directory' } | undefined;
    const dirs = new Set<string>();
    const seen = new Set<string>();
    for await (const entry of extract) {
      signal?.throwIfAborted();
      const { header } = entry;
      const segments = tarPathSegments(header.name, header.type);
      const rel = segments.join('/');
      const type = header.type as 'file' | 'directory';
      if (root === undefined) {
        if (segments.length !== 1) throw corrupt(`first path ${JSON.stringify(header.name)} is not the entry's root`);
        if (opts.name !== undefined && segments[0] !== opts.name) {
          throw new PermanentError(`entry tarball holds ${JSON.stringify(segments[0])}, expected ${JSON.stringify(opts.name)}`, {
            code: 'ENTRY_NAME_MISMATCH',
            details: { expected: opts.name, actual: segments[0] },
          });
        }
        root = { name: segments[0], type };
      } else {
        if (root.type === 'file') throw corrupt(`${JSON.stringify(header.name)} follows the file entry ${root.name}`);
        if (segments[0] !== root.name || segments.length < 2) throw corrupt(`${JSON.stringify(header.name)} is outside the entry ${root.name}/`);
        if (!dirs.has(segments.slice(0, -1).join('/'))) throw corrupt(`${JSON.stringify(header.name)} comes before its parent directory`);
      }
      if (seen.has(rel)) throw corrupt(`${JSON.stringify(header.name)} appears twice`);
      seen.add(rel);
      const target = join(into, ...segments);
      try {
        if (type === 'directory') {
          entry.resume();
          await mkdir(target, { mode: ENTRY_DIR_MODE });
          await chmod(target, ENTRY_DIR_MODE);
          dirs.add(rel);
        } else {
          await writeHashed(target, entry as AsyncIterable<Buffer>);
          await chmod(target, ENTRY_FILE_MODE);
        }
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') {
          throw new PermanentError(`refusing to overwrite ${target}: it exists already`, { code: 'ENTRY_EXISTS', details: { path: target }, cause: err });
        }
        throw err;
      }
    }
    await pumped;
    if (root === undefined) throw corrupt('no entries');
    return { name: root.name, type: root.type, sha256: hash.digest('hex'), size };
  } catch (err) {
    extract.destroy();
    input.destroy();
    if (signal?.aborted && !(err instanceof FerryError)) throw signal.reason;
    throw classifyExtractError(err, into);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}


function classifyExtractError(err: unknown, into: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const code = errnoCode(err);
  if (code !== undefined && /^E[A-Z0-9]+$/.test(code)) return classifyError(err, `extracting into ${into}`);
  const message = (err as Error)?.message ?? String(err);
  // tar-stream: the input ended inside the archive (the entry being written sees its stream destroyed)
  if (message === 'Unexpected end of data' || code === 'STREAM_DESTROYED') {
    return new TemporaryError('entry tarball ended early (a truncated object or an interrupted transfer)', { code: 'TRUNCATED_STREAM', cause: err });
  }
  if (code !== undefined) return err;
  return corrupt(message, err);
}
