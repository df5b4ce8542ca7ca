import { constants } from 'node:fs';
import { chmod, copyFile, link, mkdir, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { feedExtract } from '../../util/tar-streams.js';
import { FerryError, PermanentError, TemporaryError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { nextCreateTxg } from './counter.js';
import type { Op, WriteOp } from './diff.js';
import { classifyError, errnoCode, isAbortError, randomHex, removeTree, writeHashed } from '../../util/fs.js';
import { assertVisibleReplaceable, commitReceive } from './commit.js';
import type { Layout } from './layout.js';
import { assertValidManifest, manifestDifference, readManifest, type ManifestEntry } from './manifest.js';
import { lockFilesystem, type Lease } from './lock.js';
import { assertName, assertRelativePath, nameProblem } from './names.js';
import { assertHeaderSize, CONTENT_PREFIX, HEADER_ENTRY, STREAM_FORMAT, type StreamHeader } from './stream-format.js';
import { listSnapshots, loadManifest, type Snapshot } from './versions.js';

const corrupt = (why: string) => new PermanentError(`corrupt stream: ${why}`, { code: 'CORRUPT_STREAM' });

/**
 * Receive into a staging directory under .ferry/tmp/<fs>, verify it completely, then commit it
 * (commit.ts): the version exists exactly when <root>/<fs> shows it. Any failure before the
 * commit point removes the staging and leaves the receiver as it was.
 */
export async function receiveStream(layout: Layout, fs: string, input: Readable, signal?: AbortSignal): Promise<Version> {
  assertName('filesystem', fs);
  const extract = tar.extract();
  extract.on('error', () => undefined); // surfaces through the entry iterator; never as an unheard 'error' event
  const onAbort = () => extract.destroy(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let lease: Lease | undefined;
  const staging = join(layout.tmpDir(fs), `recv-${randomHex(6)}`);
  try {
    signal?.throwIfAborted();
    await mkdir(layout.root, { recursive: true });
    await assertVisibleReplaceable(layout, fs);
    lease = await lockFilesystem(layout, fs);
    signal?.throwIfAborted();
    pump(input, extract);
    return await receiveInto(layout, fs, extract, staging, lease, signal);
  } catch (err) {
    extract.destroy();
    input.destroy(); // the sender sees the receiver is gone, as with a pipe whose reader exited
    if (signal?.aborted && !(err instanceof FerryError)) throw signal.reason;
    throw classifyReceiveError(err, fs);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await removeTree(staging).catch(() => undefined);
    await lease?.release();
  }
}

/** Feed the node stream into the extractor; a failure of the source ends the extraction with it. */
function pump(input: Readable, extract: tar.Extract): void {
  feedExtract(input, extract, {
    mapError: (err) => (err instanceof FerryError || isAbortError(err)
      ? err
      : new TemporaryError(`receive stream failed: ${(err as Error).message}`, { code: 'STREAM_ERROR', cause: err })),
  }).catch(() => undefined); // reported through the extractor
}

function classifyReceiveError(err: unknown, fs: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  if (errnoCode(err) !== undefined) return classifyError(err, `receiving ${fs}`);
  // What remains are tar-stream's parse errors.
  const message = (err as Error)?.message ?? String(err);
  if (message === 'Unexpected end of data') {
    return new TemporaryError('receive stream ended early', { code: 'TRUNCATED_STREAM', cause: err });
  }
  return new PermanentError(`corrupt stream: ${message}`, { code: 'CORRUPT_STREAM', cause: err });
}

async function receiveInto(layout: Layout, fs: string, extract: tar.Extract, staging: string, lease: Lease, signal?: AbortSignal): Promise<Version> {
  const entries = extract[Symbol.asyncIterator]();
  const first = await entries.next();
  if (first.done || first.value.header.name !== HEADER_ENTRY) throw corrupt(`first entry is not ${HEADER_ENTRY}`);
  const header = await readHeader(first.value);
  const writes = indexWrites(header);

  const { base: from, versions: existing } = await checkAgainstReceiver(layout, fs, header);
  const data = join(staging, 'data');
  await mkdir(data, { recursive: true });
  await stageFromManifest(header, data, from, writes);

  const known = new Map<string, string>();
  for (let next = await entries.next(); !next.done; next = await entries.next()) {
    signal?.throwIfAborted();
    const entry = next.value;
    const index = contentIndex(entry.header.name);
    const op = header.ops[index];
    if (op?.op !== 'write' || known.has(op.path)) throw corrupt(`unexpected entry ${entry.header.name}`);
    if (entry.header.size !== op.size) throw corrupt(`${entry.header.name} is ${entry.header.size} bytes, ${op.path} should be ${op.size}`);
    const path = join(data, op.path);
    const got = await writeHashed(path, entry as AsyncIterable<Buffer>);
    if (got.size !== op.size || got.sha256 !== op.sha256) {
      throw new PermanentError(`checksum mismatch receiving ${fs}@${header.to.name}: ${op.path} has sha256 ${got.sha256}, expected ${op.sha256}`, {
        code: 'CHECKSUM_MISMATCH',
        details: { fs, path: op.path },
      });
    }
    await finishFile(path, op);
    known.set(op.path, got.sha256);
  }
  signal?.throwIfAborted();
  if (known.size !== writes.size) {
    throw new TemporaryError(`receive stream for ${fs}@${header.to.name} ended after ${known.size} of ${writes.size} files`, { code: 'TRUNCATED_STREAM' });
  }
  for (const e of [...header.manifest].reverse()) if (e.type === 'dir') await chmod(join(data, e.path), e.mode);

  // Every file, the ones shared with `from` included, is checked against the sender's manifest.
  const actual = await readManifest(data, known);
  const difference = manifestDifference(header.manifest, actual);
  if (difference !== null) {
    throw new PermanentError(`received ${fs}@${header.to.name} does not match the sender's manifest: ${difference}`, { code: 'CHECKSUM_MISMATCH' });
  }
  // The receiver's own order: createtxg is local, the guid and name are the sender's.
  const meta = {
    format: 'ferry-dir-meta-v1' as const, fs, name: header.to.name, guid: header.to.guid, createtxg: await nextCreateTxg(layout),
    creation: header.to.creation ?? new Date().toISOString(), manifest: 'manifest.json' as const, receivedFrom: header.from?.guid ?? null,
  };
  return commitReceive(layout, fs, staging, meta, actual, () => lease.assertHeld(), existing);
}

async function readHeader(entry: AsyncIterable<unknown> & { header: tar.Header }): Promise<StreamHeader> {
  assertHeaderSize(entry.header.size ?? 0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += (chunk as Buffer).length;
    assertHeaderSize(size);
    chunks.push(chunk as Buffer);
  }
  let header: StreamHeader;
  try {
    header = JSON.parse(Buffer.concat(chunks).toString('utf8')) as StreamHeader;
  } catch (err) {
    throw corrupt(`header is not JSON: ${(err as Error).message}`);
  }
  if (header?.format !== STREAM_FORMAT) throw corrupt(`unknown format ${JSON.stringify(header?.format)}`);
  assertStreamVersion(header.to);
  if (header.from !== null) assertStreamVersion(header.from);
  assertValidManifest(header.manifest);
  if (!Array.isArray(header.ops)) throw corrupt('ops is not a list');
  return header;
}

/** The name becomes a directory name and the guid an identity: both are checked like any input. */
function assertStreamVersion(v: Partial<Version> | undefined): void {
  if (nameProblem(v?.name) !== null) throw corrupt(`bad snapshot name ${JSON.stringify(v?.name)}`);
  if (typeof v?.guid !== 'string' || !/^[0-9a-f]{1,64}$/.test(v.guid)) throw corrupt(`bad guid ${JSON.stringify(v?.guid)}`);
}

/** Write ops by path, checked against the manifest they must produce. */
function indexWrites(header: StreamHeader): Map<string, WriteOp> {
  const byPath = new Map(header.manifest.map((e) => [e.path, e]));
  const writes = new Map<string, WriteOp>();
  for (const op of header.ops as Op[]) {
    assertRelativePath(op?.path, `${op?.op} op`);
    if (op.op === 'rename') assertRelativePath(op.from, 'rename op');
    if (op.op !== 'write') continue;
    const e = byPath.get(op.path);
    if (e?.type !== 'file' || e.size !== op.size || e.sha256 !== op.sha256 || e.mode !== op.mode || writes.has(op.path)) {
      throw corrupt(`write op for ${op.path} does not match the manifest`);
    }
    writes.set(op.path, op);
  }
  return writes;
}

function contentIndex(name: string): number {
  const index = name.startsWith(CONTENT_PREFIX) ? Number(name.slice(CONTENT_PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(index) || index < 0) throw corrupt(`unexpected entry ${name}`);
  return index;
}

/**
 * Like `zfs recv`: a full stream only into a filesystem with no versions; an incremental one only
 * on top of the receiver's newest version, matched by guid. Anything else has diverged.
 */
async function checkAgainstReceiver(layout: Layout, fs: string, header: StreamHeader): Promise<{ base: Snapshot | null; versions: Version[] }> {
  const snapshots = await listSnapshots(layout, fs);
  const versions = snapshots.map((s) => s.version);
  const details = { fs, to: header.to.name, from: header.from?.name ?? null };
  if (snapshots.some((s) => s.version.guid === header.to.guid)) {
    throw new PermanentError(`${fs}@${header.to.name} (guid ${header.to.guid}) was already received in ${layout.root}`, { code: 'ALREADY_EXISTS', details });
  }
  if (snapshots.some((s) => s.version.name === header.to.name)) {
    throw new PermanentError(`${fs} in ${layout.root} already has a different snapshot named ${header.to.name}`, { code: 'SNAPSHOT_EXISTS', details });
  }
  const newest = snapshots.at(-1);
  if (header.from === null) {
    if (newest) {
      throw new PermanentError(`full stream for ${fs}, but ${layout.root} already has versions of it (newest ${newest.version.name})`, { code: 'CONFLICT_EXISTS', details });
    }
    return { base: null, versions };
  }
  const base = snapshots.find((s) => s.version.guid === header.from!.guid);
  if (!base) {
    throw new PermanentError(`incremental stream for ${fs} from ${header.from.name}, which ${layout.root} does not have`, { code: 'CONFLICT_MISSING_FROM', details });
  }
  if (base !== newest) {
    throw new PermanentError(
      `${fs} in ${layout.root} has diverged: its newest version is ${newest!.version.name}, the stream starts from ${header.from.name}`,
      { code: 'CONFLICT_DIVERGED', details },
    );
  }
  return { base, versions };
}

/**
 * Build the `to` tree from its manifest: directories and symlinks created, files whose content is
 * not in the stream hardlinked from the receiver's copy of `from` (at their old path for a rename).
 * Paths come from the validated manifest, whose parents are always directories created here, so
 * nothing is ever written through a symlink or into `from`. A file whose mode changed gets a copy:
 * chmod on the shared inode would change `from` too.
 */
async function stageFromManifest(header: StreamHeader, data: string, from: Snapshot | null, writes: Map<string, WriteOp>): Promise<void> {
  const renamedFrom = new Map<string, string>();
  for (const op of header.ops) if (op.op === 'rename') renamedFrom.set(op.path, op.from);
  const fromByPath = new Map<string, ManifestEntry>();
  if (from) for (const e of await loadManifest(from.dir)) fromByPath.set(e.path, e);

  for (const e of header.manifest) {
    const path = join(data, e.path);
    if (e.type === 'dir') await mkdir(path, { mode: 0o700 });
    else if (e.type === 'symlink') await symlink(e.target!, path);
    else if (!writes.has(e.path)) {
      const source = renamedFrom.get(e.path) ?? e.path;
      const old = fromByPath.get(source);
      if (!from || old?.type !== 'file' || old.size !== e.size || old.sha256 !== e.sha256) {
        throw corrupt(`${e.path} is neither in the stream nor unchanged from ${header.from?.name ?? 'an earlier version'}`);
      }
      const existing = join(from.dir, 'data', source);
      if (old.mode === e.mode && (await linkOrFalse(existing, path))) continue;
      await copyFile(existing, path, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      await chmod(path, e.mode);
    }
  }
}

async function linkOrFalse(existing: string, to: string): Promise<boolean> {
  try {
    await link(existing, to);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EMLINK') return false;
    throw err;
  }
}

async function finishFile(path: string, op: WriteOp): Promise<void> {
  await chmod(path, op.mode);
  if (op.mtimeMs !== undefined && Number.isFinite(op.mtimeMs)) await utimes(path, new Date(), new Date(op.mtimeMs));
}
