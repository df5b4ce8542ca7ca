import { mkdir } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { FerryError, PermanentError, TemporaryError } from '../../errors/index.js';
import { acquireLock } from '../dir/lock.js';
import { isAbortError, lstatOrNull } from '../../util/fs.js';
import type { Version } from '../driver.js';
import { makeRootOnBtrfs, type Layout } from './layout.js';
import { assertName, nameProblem } from './names.js';
import { runBtrfs, spawnBtrfs, type BtrfsProcess } from './run-btrfs.js';
import { StreamFraming, corrupt, parseStreamStart, type StreamStart } from './stream.js';
import { freshListing, isSubvolume, listingMark, scanSnapshots, showSubvolume, toVersion, type Snapshot, type SubvolumeInfo } from './subvolume.js';

type Chunks = AsyncIterator<unknown>;

function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  throw corrupt(`stream yielded a ${typeof chunk}, not bytes`);
}

/** The next chunk of the input; a failing input is a TemporaryError STREAM_ERROR (or the abort). */
async function readChunk(chunks: Chunks): Promise<Buffer | null> {
  let r: IteratorResult<unknown>;
  try {
    r = await chunks.next();
  } catch (err) {
    if (err instanceof FerryError || isAbortError(err)) throw err;
    throw new TemporaryError(`receive stream failed: ${(err as Error)?.message ?? String(err)}`, { code: 'STREAM_ERROR', cause: err });
  }
  return r.done ? null : asBuffer(r.value);
}

/** Read until the stream header and first command are in; returns them and the chunks read. */
async function readStart(chunks: Chunks): Promise<{ start: StreamStart; head: Buffer[] }> {
  const head: Buffer[] = [];
  let buf = Buffer.alloc(0);
  for (;;) {
    const start = parseStreamStart(buf);
    if (start) return { start, head };
    const chunk = await readChunk(chunks);
    if (chunk === null) {
      throw new TemporaryError(`btrfs send stream ended ${buf.length === 0 ? 'before its first byte' : `after ${buf.length} bytes, in its first command`}`, {
        code: 'TRUNCATED_STREAM',
      });
    }
    head.push(chunk);
    buf = Buffer.concat([buf, chunk]);
  }
}

async function write(stdin: Writable, chunk: Buffer): Promise<void> {
  if (stdin.destroyed || stdin.writableEnded) throw new Error('btrfs receive stopped reading');
  if (stdin.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stdin.off('drain', done);
      stdin.off('close', done);
      stdin.off('error', done);
      resolve();
    };
    stdin.on('drain', done);
    stdin.on('close', done);
    stdin.on('error', done);
  });
}

/**
 * Everything read so far, then the rest of the input, into btrfs receive. Its stdin is closed only
 * after a complete stream (ends right after END): a stream cut at a command boundary would
 * otherwise be finished by btrfs receive as if it were whole. Each later snapshot of a batch goes to
 * `next` once its first command is in, before the chunk that completes that command is written: a
 * refusal ends btrfs receive's input at the END before that snapshot (or, when its header began in
 * an earlier chunk, a few bytes after it: never a whole command of it).
 */
async function feed(stdin: Writable, head: Buffer[], chunks: Chunks, next: (start: StreamStart, previous: StreamStart[]) => Promise<void>, signal?: AbortSignal): Promise<{ starts: StreamStart[]; refused?: unknown }> {
  const framing = new StreamFraming();
  let written = 0;
  /** the chunk on to btrfs receive; else (a later snapshot refused) the refusal, its input ended */
  const pass = async (chunk: Buffer): Promise<unknown> => {
    const seen = framing.starts.length;
    framing.feed(chunk);
    for (let i = Math.max(1, seen); i < framing.starts.length; i++) {
      try {
        await next(framing.starts[i], framing.starts.slice(0, i));
      } catch (err) {
        // btrfs receive gets the stream up to the END before this snapshot (what was written of it
        // already, when it began in an earlier chunk, is less than one command)
        const upTo = framing.starts[i].offset - written;
        if (upTo > 0) await write(stdin, chunk.subarray(0, upTo));
        stdin.end();
        return err;
      }
    }
    await write(stdin, chunk);
    written += chunk.length;
    return undefined;
  };
  let refused: unknown;
  for (const chunk of head) if ((refused = await pass(chunk)) !== undefined) return { starts: framing.starts, refused };
  for (let chunk = await readChunk(chunks); chunk !== null; chunk = await readChunk(chunks)) {
    signal?.throwIfAborted();
    if ((refused = await pass(chunk)) !== undefined) return { starts: framing.starts, refused };
  }
  framing.assertComplete();
  stdin.end();
  return { starts: framing.starts };
}

/** What a receive applies: from the stream's first command, or the fast path's step. */
export type Incoming = Pick<StreamStart, 'kind' | 'name' | 'uuid' | 'parentUuid'>;

/**
 * Like `zfs recv`: a full stream only into a filesystem without versions; an incremental one only
 * on top of the receiver's newest version, found by (received) UUID. Returns the version when this
 * exact one is already there.
 */
function check(layout: Layout, fs: string, start: Incoming, snapshots: Snapshot[]): Version | null {
  const details = { fs, name: start.name, uuid: start.uuid, parentUuid: start.parentUuid };
  const already = snapshots.find((s) => s.version.guid === start.uuid);
  if (already) return already.version;
  const newest = snapshots.at(-1);
  if (start.kind === 'full') {
    if (newest) {
      throw new PermanentError(`full stream for ${fs}@${start.name}, but ${layout.root} already has versions of ${fs} (newest ${newest.version.name}, guid ${newest.version.guid})`, {
        code: 'CONFLICT_EXISTS',
        details,
      });
    }
    return null;
  }
  const parent = snapshots.find((s) => s.version.guid === start.parentUuid);
  if (!parent) {
    throw new PermanentError(
      `incremental stream for ${fs}@${start.name} needs its parent (guid ${start.parentUuid}) on the receiver, ` +
        `but ${layout.root} has ${snapshots.length === 0 ? 'no versions of it' : `only ${snapshots.map((s) => s.version.name).join(', ')}`}`,
      { code: 'CONFLICT_MISSING_FROM', details },
    );
  }
  if (parent !== newest) {
    throw new PermanentError(
      `incremental stream for ${fs}@${start.name} starts at ${parent.version.name}, but the receiver's newest version is ${newest!.version.name}`,
      { code: 'CONFLICT_DIVERGED', details },
    );
  }
  return null;
}

/**
 * Ready `fs` of the receiver for a receive (receiveStream and the local fast path): the root (on
 * btrfs only) and the snapshot directory made, the filesystem's lock taken. Returns its release.
 * `rootMade` is called once the root exists.
 */
export async function lockReceiveDir(layout: Layout, fs: string, rootMade?: () => void): Promise<() => Promise<void>> {
  await makeRootOnBtrfs(layout.root);
  rootMade?.();
  await mkdir(layout.snapshotsDir(fs), { recursive: true });
  return acquireLock(layout.lockFile(fs), `btrfs filesystem ${fs} of ${layout.root}`);
}

/**
 * Under the lock: the receiver's versions of `fs` from `readonly` (a listing begun after the lock
 * was taken), with what interrupted receives left deleted: writable subvolumes (btrfs receive sets
 * a subvolume read-only, with its Received UUID, only once complete; ferry's own snapshots are
 * created read-only). They stay as they are while the lock is held.
 */
export async function receiverVersions(layout: Layout, fs: string, readonly: () => Promise<Map<string, SubvolumeInfo>>, signal?: AbortSignal): Promise<Snapshot[]> {
  const { complete, partial } = await scanSnapshots(layout, fs, signal, readonly);
  for (const p of partial) await runBtrfs(['-q', 'subvolume', 'delete', p.path]);
  return complete;
}

/**
 * Under the lock: receiverVersions() from one endpoint listing begun now, shared with other steps'
 * receives that took their locks before it began (docs/btrfs-driver.md).
 */
export function sharedReceiverVersions(layout: Layout, fs: string, signal?: AbortSignal): Promise<Snapshot[]> {
  const mark = listingMark();
  return receiverVersions(layout, fs, () => freshListing(layout, mark, signal), signal);
}

/** lockReceiveDir(), then sharedReceiverVersions(). Returns the lock's release and the versions. */
export async function lockForReceive(layout: Layout, fs: string, signal?: AbortSignal): Promise<{ release: () => Promise<void>; snapshots: Snapshot[] }> {
  const release = await lockReceiveDir(layout, fs);
  try {
    return { release, snapshots: await sharedReceiverVersions(layout, fs, signal) };
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * Under the lock: check() against the receiver's versions, then the path `btrfs receive` will
 * create. `already` is the version when this exact one is there; SNAPSHOT_EXISTS when another
 * snapshot has its name.
 */
export async function receiveTarget(layout: Layout, fs: string, start: Incoming, snapshots: Snapshot[], signal?: AbortSignal): Promise<{ already: Version | null; target: string }> {
  const found = check(layout, fs, start, snapshots);
  if (found !== null) return { already: await described(layout, fs, found, signal), target: layout.snapshotPath(fs, start.name) };
  return { already: null, target: await freeTarget(layout, fs, start) };
}

/** The path `btrfs receive` will give `start`'s snapshot; SNAPSHOT_EXISTS when something else has it. */
export async function freeTarget(layout: Layout, fs: string, start: Pick<Incoming, 'name' | 'uuid'>): Promise<string> {
  const target = layout.snapshotPath(fs, start.name);
  if ((await lstatOrNull(target)) !== null) {
    throw new PermanentError(`${fs} in ${layout.root} already has a different snapshot named ${start.name}`, {
      code: 'SNAPSHOT_EXISTS',
      details: { fs, name: start.name, uuid: start.uuid },
    });
  }
  return target;
}

/**
 * A version a receive found already there, with its creation time: the receiver's listing under
 * the lock leaves the times out (lockForReceive), so the rare receive with nothing to do asks
 * `btrfs subvolume show` of that one snapshot.
 */
export async function described(layout: Layout, fs: string, v: Version, signal?: AbortSignal): Promise<Version> {
  return v.creation !== undefined ? v : toVersion(v.name, await showSubvolume(layout.snapshotPath(fs, v.name), signal));
}

/**
 * receivedVersion() from a listing of the receiver begun after btrfs receive exited (null: none
 * could be made), instead of a `show` of its own. The version has no creation time: the fast
 * path's caller does not use it. Anything but a read-only subvolume with the stream's Received
 * UUID at `target` is left to receivedVersion(), which says what is wrong.
 */
export async function confirmReceived(listed: Map<string, SubvolumeInfo> | null, target: string, fs: string, start: Incoming, signal?: AbortSignal): Promise<Version> {
  const info = listed?.get(target);
  if (info === undefined || info.receivedUuid !== start.uuid) return receivedVersion(target, fs, start, signal);
  return toVersion(start.name, info);
}

/** After btrfs receive exited 0: the new version; RECEIVE_INCOMPLETE unless it is read-only with the stream's Received UUID. */
export async function receivedVersion(target: string, fs: string, start: Incoming, signal?: AbortSignal): Promise<Version> {
  const info = await showSubvolume(target, signal);
  if (!info.readonly || info.receivedUuid !== start.uuid) {
    throw new PermanentError(`btrfs receive of ${fs}@${start.name} exited 0 but left it ${info.readonly ? 'without the expected Received UUID' : 'writable'}`, {
      code: 'RECEIVE_INCOMPLETE',
      details: { fs, name: start.name, uuid: start.uuid, receivedUuid: info.receivedUuid },
    });
  }
  return toVersion(start.name, info);
}

/**
 * `btrfs receive <root>/.ferry/snapshots/<fs>/`, checked before (first command parsed: name, UUID,
 * parent) and after (read-only, Received UUID). Any failure kills btrfs receive and deletes the
 * subvolume it was creating, and only that: the receiver is left as it was. A batch (several
 * snapshots in one stream) checks each before it is applied, and one cut short keeps the snapshots
 * that arrived complete, as zfs receive of an -I stream does; its version is the last one's.
 */
export async function receiveStream(layout: Layout, fs: string, input: Readable, signal?: AbortSignal): Promise<Version> {
  assertName('filesystem', fs);
  const chunks: Chunks = input[Symbol.asyncIterator]();
  let proc: BtrfsProcess | undefined;
  let created: string | null = null;
  let release: (() => Promise<void>) | undefined;
  const onAbort = (): void => {
    proc?.kill();
    input.destroy(signal!.reason instanceof Error ? signal!.reason : undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const locked = await lockForReceive(layout, fs, signal);
    release = locked.release;

    const { start, head } = await readStart(chunks);
    const bad = nameProblem(start.name);
    if (bad !== null) throw corrupt(`snapshot name ${JSON.stringify(start.name)} ${bad}`);
    const { already, target } = await receiveTarget(layout, fs, start, locked.snapshots, signal);
    if (already) {
      input.destroy(); // nothing to apply; a sender piped into it stops
      return already;
    }

    created = target; // nothing was there and we hold the lock: whatever appears there is this receive's
    const p = spawnBtrfs(['-q', 'receive', layout.snapshotsDir(fs)], { signal, stdin: 'pipe' });
    proc = p;
    // a batch's later snapshots: each on one before it, new to the receiver; once one begins, the
    // one before it is complete (its END went through) and stays, whatever becomes of the rest
    const known = new Set(locked.snapshots.map((v) => v.version.guid));
    const nextSnapshot = async (s: StreamStart, previous: StreamStart[]): Promise<void> => {
      created = null;
      const bad = nameProblem(s.name);
      if (bad !== null) throw corrupt(`snapshot name ${JSON.stringify(s.name)} ${bad}`);
      const bases = new Set([previous[0].parentUuid, ...previous.map((v) => v.uuid)]);
      if (s.kind !== 'incremental' || !bases.has(s.parentUuid)) throw corrupt(`snapshot ${s.name} of a batch is not incremental on a snapshot before it in the stream`);
      if (previous.some((v) => v.name === s.name || v.uuid === s.uuid) || known.has(s.uuid)) throw corrupt(`snapshot ${s.name} (UUID ${s.uuid}) comes twice`);
      created = await freeTarget(layout, fs, s);
    };
    let starts: StreamStart[] = [start];
    // a refused later snapshot: btrfs receive's input ended at the END before it, so it finishes
    // the ones before, which stay; the refusal is the error
    let refused: unknown;
    let fed = false;
    let feedError: unknown;
    let killedForFeed = false;
    const feeding = feed(p.stdin!, head, chunks, nextSnapshot, signal).then(
      (done) => {
        fed = true;
        ({ starts, refused } = done);
      },
      (err) => {
        feedError = err;
        killedForFeed = p.child.exitCode === null && p.child.signalCode === null;
        p.kill();
      },
    );
    // btrfs receive gave up early: stop waiting for input nobody will read
    void p.exited.then(() => {
      if (!fed) input.destroy();
    });
    let procError: unknown;
    await p.done.catch((err) => {
      procError = err;
    });
    await feeding;
    if (refused !== undefined) throw refused;
    if (procError !== undefined) throw killedForFeed && feedError !== undefined ? feedError : procError;
    if (feedError !== undefined) throw feedError;

    // a batch's snapshots but the last from one listing; the last, whose version is returned with
    // its creation time, as a single snapshot's
    const listed = starts.length > 1 ? await freshListing(layout, listingMark(), signal) : null;
    let version: Version | undefined;
    for (const [i, s] of starts.entries()) {
      const target = layout.snapshotPath(fs, s.name);
      version = i < starts.length - 1 ? await confirmReceived(listed, target, fs, s, signal) : await receivedVersion(target, fs, s, signal);
    }
    created = null;
    return version!;
  } catch (err) {
    input.destroy();
    if (proc) {
      proc.kill();
      await proc.exited;
    }
    throw await failedReceive(fs, created, err, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await release?.();
  }
}

/**
 * After a failed receive: delete only the subvolume this receive was creating, and return the
 * error to throw (the abort reason when aborted; a typed error otherwise, noting a leftover that
 * could not be deleted).
 */
export async function failedReceive(fs: string, created: string | null, err: unknown, signal?: AbortSignal): Promise<unknown> {
  let leftover: unknown;
  if (created !== null && (await isSubvolume(created).catch(() => false))) {
    await runBtrfs(['-q', 'subvolume', 'delete', created]).catch((e) => {
      leftover = e;
    });
  }
  if (signal?.aborted) return signal.reason;
  if (leftover !== undefined && err instanceof FerryError) {
    err.details.leftover = created;
    err.details.leftoverError = (leftover as Error).message;
  }
  return err instanceof FerryError || isAbortError(err) ? err : new TemporaryError(`receiving ${fs}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
