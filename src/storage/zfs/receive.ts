import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError, InvalidArgumentError, PermanentError, TemporaryError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { datasetExists, isNotFound, readVersions, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName } from './names.js';
import { runZfs, spawnZfs, zfsLog } from './run-zfs.js';
import { parseStreamHeader, RECORD_BYTES, type StreamHeader } from './stream-header.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as string));
/** how long to keep trying to clean up after a failed receive (zfs-fuse's daemon may hold the dataset busy for a moment) */
const CLEANUP_MS = 30_000;

/** OpenZFS: the receive_resume_token of a partially received dataset, or null. */
export async function resumeTokenOf(dataset: string, signal?: AbortSignal): Promise<string | null> {
  if (!zfsFeatures().resumable) return null;
  try {
    const value = (await runZfs(['get', '-H', '-o', 'value', 'receive_resume_token', dataset], { signal })).trim();
    return value === '' || value === '-' ? null : value;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

async function hasChildren(dataset: string): Promise<boolean> {
  const out = await runZfs(['list', '-H', '-r', '-d', '1', '-t', 'filesystem,volume', '-o', 'name', dataset]);
  return out.split('\n').some((l) => l.startsWith(`${dataset}/`));
}

interface Head {
  head: Buffer;
  header: StreamHeader;
  /** the input ended within the header bytes */
  ended: boolean;
}

/** Reads the input until the stream header can be parsed. */
async function readHead(it: AsyncIterator<unknown>, target: string): Promise<Head> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const r = await it.next();
    const ended = !!r.done;
    if (!ended) {
      const b = toBuffer(r.value);
      chunks.push(b);
      size += b.length;
    }
    if (size >= RECORD_BYTES || ended) {
      const head = Buffer.concat(chunks);
      const header = size >= RECORD_BYTES ? parseStreamHeader(head) : 'need-more';
      if (header !== 'need-more') return { head, header, ended };
      if (ended) {
        throw new PermanentError(`corrupt stream: the stream into ${target} ended after ${size} bytes, before a complete zfs stream header`, {
          code: size === 0 ? 'EMPTY_STREAM' : 'CORRUPT_STREAM',
        });
      }
      chunks.length = 0;
      chunks.push(head);
    }
  }
}

/** The error to report for a failed `zfs receive`, with what ferry does and does not do about it. */
export function receiveError(err: unknown, target: string, existed: boolean): unknown {
  if (!(err instanceof FerryError)) return err;
  const opts = { cause: err, details: err.details };
  switch (err.code) {
    case 'CONFLICT_DIVERGED':
      return new PermanentError(
        `${target} has changed on the receiver since its newest snapshot, or that snapshot is not the stream's base: ` +
          `ferry never rolls back or overwrites (no zfs receive -F). Roll it back or destroy the extra snapshots by hand, ` +
          `or pick another receiver path (${err.message})`,
        { ...opts, code: 'CONFLICT_DIVERGED' },
      );
    case 'CONFLICT_EXISTS':
      return new PermanentError(
        `${target} already exists on the receiver without the stream's base snapshot: ferry never overwrites it ` +
          `(no zfs receive -F). Destroy it by hand or pick another receiver path (${err.message})`,
        { ...opts, code: 'CONFLICT_EXISTS' },
      );
    case 'NOT_FOUND':
      if (!existed) return new TemporaryError(`the parent of ${target} does not exist (yet): ${err.message}`, { ...opts, code: 'PARENT_MISSING' });
      return err;
    default:
      return err;
  }
}

/**
 * `zfs receive -u [-s] root/fs` fed from `input`. Never -F: nothing on the receiver is rolled back
 * or overwritten. Returns the newest version received. On failure (zfs error, input error, abort)
 * zfs is stopped and what this receive created is removed again: snapshots that were not there
 * before, and the dataset itself when it did not exist before and is left empty. With resumable
 * receive (OpenZFS) a partially received state is kept for `zfs send -t` instead.
 */
export async function receiveStream(ctx: ZfsContext, fs: string, input: Readable, signal?: AbortSignal): Promise<Version> {
  assertZfsName('filesystem', fs);
  const target = ctx.dataset(fs);
  assertFullName(target);
  if (!input || typeof (input as Partial<Readable>)[Symbol.asyncIterator] !== 'function') {
    throw new InvalidArgumentError('receive needs a readable stream', { code: 'INVALID_ARGUMENT' });
  }
  const aborted = () => new TemporaryError(`receiving ${target} aborted`, { code: 'ABORTED', cause: signal?.reason });
  if (signal?.aborted) {
    input.destroy();
    throw aborted();
  }
  const onAbort = () => input.destroy(aborted());
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await receive(ctx, fs, target, input, signal);
  } catch (err) {
    input.destroy(); // whatever failed, nobody reads the rest (a piped zfs send stops too)
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function receive(ctx: ZfsContext, fs: string, target: string, input: Readable, signal?: AbortSignal): Promise<Version> {
  const log = zfsLog();
  const it = input[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  let head: Head;
  try {
    head = await readHead(it, target);
  } catch (err) {
    input.destroy();
    throw err;
  }
  const { header } = head;
  const incremental = header.fromguid !== '0';

  let existed = await datasetExists(target, signal);
  let before = existed ? await readVersions(target, signal) : [];

  // idempotent: this exact version is already here
  const have = header.compound || header.toguid === '0' ? undefined : before.find((v) => v.guid === header.toguid);
  if (have) {
    log.info({ dataset: target, snapshot: have.name, guid: have.guid }, 'receiver already has this version: nothing to receive');
    input.destroy();
    return have;
  }

  const resumable = zfsFeatures().resumable;
  if (resumable && existed && !header.resuming && (await resumeTokenOf(target, signal))) {
    // an earlier receive was interrupted and is not being resumed: drop only its partial state
    log.warn({ dataset: target }, 'zfs receive -A: discarding the partial state of an earlier interrupted receive');
    await runZfs(['receive', '-A', target], { signal });
    existed = await datasetExists(target, signal);
    before = existed ? await readVersions(target, signal) : [];
  }

  if (existed && incremental && !header.resuming) {
    // what `zfs receive` without -F demands on OpenZFS, checked here too because zfs-fuse applies an
    // incremental stream on top of a newer receiver snapshot whose data did not change
    const newest = before[before.length - 1];
    if (newest?.guid !== header.fromguid) {
      input.destroy();
      const base = before.find((v) => v.guid === header.fromguid);
      throw new PermanentError(
        `diverged: the stream ${header.toname} applies on top of ${base ? `@${base.name}` : `guid ${header.fromguid}`}, but the newest snapshot of ${target} ` +
          `is ${newest ? `@${newest.name} (guid ${newest.guid})` : 'none'}. ferry never rolls back or overwrites (no zfs receive -F): ` +
          'destroy the newer snapshots on the receiver by hand, or pick another receiver path',
        { code: 'CONFLICT_DIVERGED', details: { dataset: target, fromguid: header.fromguid, newest: newest?.guid ?? null } },
      );
    }
  }

  if (!existed) {
    if (incremental && !header.resuming) {
      input.destroy();
      throw new PermanentError(`cannot apply an incremental stream (${header.toname}) to ${target}: it does not exist on the receiver`, {
        code: 'NOT_FOUND',
        details: { dataset: target, fromguid: header.fromguid },
      });
    }
    const parentFs = posix.dirname(fs);
    if (parentFs !== '.') {
      const parent = ctx.dataset(parentFs);
      if (!(await datasetExists(parent, signal))) {
        input.destroy();
        throw new TemporaryError(`cannot receive ${target} yet: its parent ${parent} does not exist on the receiver (it is replicated first)`, {
          code: 'PARENT_MISSING',
          details: { dataset: target, parent },
        });
      }
    } else if (!(await datasetExists(ctx.root, signal))) {
      log.info({ dataset: ctx.root }, 'creating the receiver root dataset');
      try {
        await runZfs(['create', '-p', ctx.root], { signal });
      } catch (err) {
        if ((err as FerryError).code !== 'ALREADY_EXISTS') throw err; // created meanwhile by another step
      }
    }
  }

  // -s (keep a resumable state when interrupted) for plain streams only: compound (-I) streams restart
  const keepPartial = resumable && !header.compound;
  const args = ['receive', '-u', ...(keepPartial ? ['-s'] : []), target];
  log.info({ dataset: target, snapshot: header.toname, incremental, compound: header.compound }, 'zfs receive');
  const proc = spawnZfs(args, { signal, stdin: 'pipe', stdout: 'ignore' });
  const stdin = proc.stdin!;
  const exited = proc.done.then(() => 'exited' as const, () => 'exited' as const);

  const write = (b: Buffer) =>
    new Promise<boolean>((resolve) => {
      if (proc.exited || stdin.destroyed) return resolve(false);
      if (stdin.write(b)) return resolve(true);
      const finish = (v: boolean) => {
        stdin.off('drain', onDrain);
        stdin.off('close', onClose);
        resolve(v);
      };
      const onDrain = () => finish(true);
      const onClose = () => finish(false);
      stdin.on('drain', onDrain);
      stdin.on('close', onClose);
    });

  let inputError: unknown = null;
  let inputEnded = head.ended;
  await (async () => {
    try {
      if (!(await write(head.head))) return;
      while (!inputEnded) {
        const r = await Promise.race([it.next(), exited]);
        if (r === 'exited') return; // zfs stopped early: its exit status says why
        if (r.done) {
          inputEnded = true;
          break;
        }
        if (!(await write(toBuffer(r.value)))) return;
      }
      stdin.end();
    } catch (err) {
      inputError = err;
      await proc.stop(); // closes the pipe (EOF for the zfs-fuse daemon, which reads it itself), then SIGTERM
    }
  })();

  let zfsErr: unknown = null;
  try {
    await proc.done;
  } catch (err) {
    zfsErr = err;
  }
  if (!inputEnded) input.destroy();

  const beforeGuids = new Set(before.map((v) => v.guid));
  const received = async () => (await readVersions(target)).filter((v) => !beforeGuids.has(v.guid));

  if (inputError === null && zfsErr === null) {
    const fresh = await received();
    if (fresh.length === 0 || (header.toguid !== '0' && !fresh.some((v) => v.guid === header.toguid))) {
      throw new PermanentError(`zfs receive into ${target} exited 0 but ${header.toname} (guid ${header.toguid}) is not there`, {
        code: 'RECEIVE_NOT_APPLIED',
        details: { dataset: target, toguid: header.toguid },
      });
    }
    return fresh[fresh.length - 1];
  }

  if (inputError === null && inputEnded && !(zfsErr instanceof PermanentError) && (zfsErr as FerryError)?.code !== 'ABORTED') {
    // zfs-fuse sometimes reports an error (e.g. "I/O error") after a receive that did complete
    const fresh = await received().catch(() => []);
    if (fresh.some((v) => v.guid === header.toguid)) {
      log.warn({ dataset: target, err: (zfsErr as Error)?.message }, 'zfs receive reported an error but the snapshot arrived complete: taken as received');
      return fresh[fresh.length - 1];
    }
  }

  const error =
    inputError instanceof FerryError
      ? inputError
      : inputError !== null
        ? new TemporaryError(`the stream into ${target} failed: ${(inputError as Error)?.message ?? String(inputError)}`, { code: 'STREAM_FAILED', cause: inputError })
        : receiveError(zfsErr, target, existed);
  await cleanUp(target, existed, before, keepPartial);
  throw error;
}

/**
 * After a failed receive: remove what it created, nothing else, and never roll back. On an
 * existing dataset nothing is removed: a -I stream cut after some of its snapshots leaves those
 * snapshots complete (they are the sender's, and the head matches the newest of them), and the
 * retried step continues from there. A dataset this receive created is destroyed only while it has
 * no snapshots and no children. Retries while zfs says busy (zfs-fuse's daemon finishes an
 * interrupted receive a moment after the command is gone) or the daemon removed it itself.
 */
export async function cleanUp(target: string, existed: boolean, _before: Version[], resumable: boolean): Promise<void> {
  const log = zfsLog();
  const deadline = Date.now() + CLEANUP_MS;
  if (existed) return;
  for (;;) {
    try {
      if (!(await datasetExists(target))) return;
      if (resumable && (await resumeTokenOf(target))) return; // kept for zfs send -t
      if ((await readVersions(target)).length === 0 && !(await hasChildren(target))) {
        log.warn({ dataset: target }, 'destroying the empty dataset left by a failed receive');
        await runZfs(['destroy', target]);
      }
      return;
    } catch (err) {
      const code = (err as FerryError).code;
      // BUSY: still in use; NOT_FOUND: removed meanwhile by the daemon; ALREADY_EXISTS (EEXIST): the
      // snapshot still has the hidden %recv clone of the interrupted receive as a dependent
      if ((code === 'BUSY' || code === 'NOT_FOUND' || code === 'ALREADY_EXISTS') && Date.now() < deadline) {
        await sleep(200);
        continue;
      }
      log.error({ dataset: target, err: (err as Error).message }, 'could not clean up after a failed receive');
      return;
    }
  }
}
