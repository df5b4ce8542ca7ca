import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError, InvalidArgumentError, PermanentError, TemporaryError } from '../../errors/index.js';
import type { ReceiveOverrides, Version } from '../driver.js';
import { datasetExists, forgetAbsent, knownAbsent, probeDataset, readDataset, readVersions, type DatasetState, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName } from './names.js';
import { runZfs, spawnZfs, zfsLog } from './run-zfs.js';
import { parseStreamHeader, RECORD_BYTES, type StreamHeader } from './stream-header.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as string));
/** how long to keep trying to clean up after a failed receive (zfs-fuse's daemon may hold the dataset busy for a moment) */
const CLEANUP_MS = 30_000;

/**
 * `zfs receive` arguments of a job's overrides: `-o prop=value` per receive_set, `-x prop` per
 * receive_exclude (validated by the job's check; names checked again here, they become arguments).
 * PermanentError SEND_OPTION_UNSUPPORTED when this zfs has neither (zfs-fuse).
 */
export function receiveOverrideArgs(o: ReceiveOverrides | undefined): string[] {
  const set = o?.receiveSet ?? [];
  const exclude = o?.receiveExclude ?? [];
  if (!set.length && !exclude.length) return [];
  if (!zfsFeatures().receiveOverrides) {
    const field = set.length ? 'send.receive_set' : 'send.receive_exclude';
    throw new PermanentError(`${field}: this zfs has no zfs receive -o/-x (zfs-fuse): remove it from the job or use OpenZFS`, {
      code: 'SEND_OPTION_UNSUPPORTED', details: { field },
    });
  }
  const name = (p: string, field: string) => {
    if (!/^[a-z][a-z0-9_.:-]*$/.test(p)) throw new InvalidArgumentError(`${field}: ${JSON.stringify(p)} is not a zfs property name`, { code: 'INVALID_ARGUMENT', details: { field } });
    return p;
  };
  return [
    ...set.flatMap((kv) => ['-o', `${name(kv.split('=')[0], 'send.receive_set')}=${kv.slice(kv.indexOf('=') + 1)}`]),
    ...exclude.flatMap((p) => ['-x', name(p, 'send.receive_exclude')]),
  ];
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

/** What a receive is about to apply, as its stream header (or the fast path's step) tells. */
export interface Incoming {
  incremental: boolean;
  /** a `zfs send -t` stream continuing the receiver's partial state */
  resuming: boolean;
  fromguid: string;
  /** the sender's name of the snapshot, e.g. "pool/data/a@s1" */
  toname: string;
}

/** `zfs receive -A`: drop the partial state of an earlier interrupted receive that is not being resumed. */
export async function discardPartial(target: string, signal?: AbortSignal, why?: unknown): Promise<DatasetState> {
  zfsLog().warn({ dataset: target, ...(why === undefined ? {} : { err: (why as Error).message }) }, 'zfs receive -A: discarding the partial state of an earlier interrupted receive');
  await runZfs(['receive', '-A', target], { signal });
  return readDataset(target, signal);
}

/**
 * The checks before `zfs receive` starts (receiveStream and the local fast path): an incremental
 * stream only on top of the receiver's newest snapshot, only into an existing dataset, a new
 * dataset only under an existing parent; the receiver's root dataset is created when missing.
 */
export async function checkReceiver(ctx: ZfsContext, fs: string, { exists: existed, versions: before }: Pick<DatasetState, 'exists' | 'versions'>, s: Incoming, signal?: AbortSignal): Promise<void> {
  const target = ctx.dataset(fs);
  if (existed && s.incremental && !s.resuming) {
    // what `zfs receive` without -F demands on OpenZFS, checked here too because zfs-fuse applies an
    // incremental stream on top of a newer receiver snapshot whose data did not change
    const newest = before[before.length - 1];
    if (newest?.guid !== s.fromguid) {
      const base = before.find((v) => v.guid === s.fromguid);
      throw new PermanentError(
        `diverged: the stream ${s.toname} applies on top of ${base ? `@${base.name}` : `guid ${s.fromguid}`}, but the newest snapshot of ${target} ` +
          `is ${newest ? `@${newest.name} (guid ${newest.guid})` : 'none'}. ferry never rolls back or overwrites (no zfs receive -F): ` +
          'destroy the newer snapshots on the receiver by hand, or pick another receiver path',
        { code: 'CONFLICT_DIVERGED', details: { dataset: target, fromguid: s.fromguid, newest: newest?.guid ?? null } },
      );
    }
  }
  if (existed) return;
  if (s.incremental && !s.resuming) {
    throw new PermanentError(`cannot apply an incremental stream (${s.toname}) to ${target}: it does not exist on the receiver`, {
      code: 'NOT_FOUND',
      details: { dataset: target, fromguid: s.fromguid },
    });
  }
  const parentFs = posix.dirname(fs);
  if (parentFs !== '.') {
    const parent = ctx.dataset(parentFs);
    if (knownAbsent(ctx, parent) || !(await datasetExists(parent, signal))) {
      throw new TemporaryError(`cannot receive ${target} yet: its parent ${parent} does not exist on the receiver (it is replicated first)`, {
        code: 'PARENT_MISSING',
        details: { dataset: target, parent },
      });
    }
  } else if (knownAbsent(ctx, ctx.root) || !(await datasetExists(ctx.root, signal))) {
    zfsLog().info({ dataset: ctx.root }, 'creating the receiver root dataset');
    forgetAbsent(ctx);
    try {
      await runZfs(['create', '-p', ctx.root], { signal });
    } catch (err) {
      if ((err as FerryError).code !== 'ALREADY_EXISTS') throw err; // created meanwhile by another step
    }
  }
}

/** The versions of `target` that were not there before the receive. */
async function receivedSince(target: string, before: Version[]): Promise<Version[]> {
  const beforeGuids = new Set(before.map((v) => v.guid));
  return (await readVersions(target)).filter((v) => !beforeGuids.has(v.guid));
}

/** After `zfs receive` exited 0: the newest version it received, RECEIVE_NOT_APPLIED unless `toguid` is among them. */
export async function receivedVersion(target: string, before: Version[], toguid: string, toname: string): Promise<Version> {
  const fresh = await receivedSince(target, before);
  if (fresh.length === 0 || (toguid !== '0' && !fresh.some((v) => v.guid === toguid))) {
    throw new PermanentError(`zfs receive into ${target} exited 0 but ${toname} (guid ${toguid}) is not there`, {
      code: 'RECEIVE_NOT_APPLIED',
      details: { dataset: target, toguid },
    });
  }
  return fresh[fresh.length - 1];
}

/**
 * zfs-fuse sometimes reports an error (e.g. "I/O error") after a receive that did complete: the
 * newest version received when `toguid` arrived all the same, else null (the error stands).
 */
export async function arrivedDespite(target: string, before: Version[], toguid: string, err: unknown): Promise<Version | null> {
  const fresh = await receivedSince(target, before).catch(() => []);
  if (!fresh.some((v) => v.guid === toguid)) return null;
  zfsLog().warn({ dataset: target, err: (err as Error)?.message }, 'zfs receive reported an error but the snapshot arrived complete: taken as received');
  return fresh[fresh.length - 1];
}

/**
 * `zfs receive -u [-s] root/fs` fed from `input`. Never -F: nothing on the receiver is rolled back
 * or overwritten. Returns the newest version received. On failure (zfs error, input error, abort)
 * zfs is stopped and what this receive created is removed again: snapshots that were not there
 * before, and the dataset itself when it did not exist before and is left empty. With resumable
 * receive (OpenZFS) a partially received state is kept for `zfs send -t` instead.
 */
export async function receiveStream(ctx: ZfsContext, fs: string, input: Readable, signal?: AbortSignal, overrides?: ReceiveOverrides): Promise<Version> {
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
    const extra = receiveOverrideArgs(overrides);
    return await receive(ctx, fs, target, input, signal, extra);
  } catch (err) {
    input.destroy(); // whatever failed, nobody reads the rest (a piped zfs send stops too)
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function receive(ctx: ZfsContext, fs: string, target: string, input: Readable, signal: AbortSignal | undefined, extra: string[]): Promise<Version> {
  const log = zfsLog();
  const it = input[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  const head = await readHead(it, target); // on failure receiveStream destroys the input
  const { header } = head;
  const incremental = header.fromguid !== '0';

  const found = await probeDataset(ctx, target, signal, !incremental);
  let { exists: existed, versions: before } = found;

  // idempotent: this exact version is already here
  const have = header.compound || header.toguid === '0' ? undefined : before.find((v) => v.guid === header.toguid);
  if (have) {
    log.info({ dataset: target, snapshot: have.name, guid: have.guid }, 'receiver already has this version: nothing to receive');
    input.destroy();
    return have;
  }

  const resumable = zfsFeatures().resumable;
  if (!header.resuming && found.resumeToken) {
    ({ exists: existed, versions: before } = await discardPartial(target, signal));
  }
  await checkReceiver(ctx, fs, { exists: existed, versions: before }, { incremental, resuming: header.resuming, fromguid: header.fromguid, toname: header.toname }, signal);

  // -s (keep a resumable state when interrupted) for plain streams only: compound (-I) streams restart
  const keepPartial = resumable && !header.compound;
  const args = ['receive', '-u', ...(keepPartial ? ['-s'] : []), ...extra, target];
  forgetAbsent(ctx);
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

  if (inputError === null && zfsErr === null) return receivedVersion(target, before, header.toguid, header.toname);
  if (inputError === null && inputEnded && !(zfsErr instanceof PermanentError) && (zfsErr as FerryError)?.code !== 'ABORTED') {
    const arrived = await arrivedDespite(target, before, header.toguid, zfsErr);
    if (arrived) return arrived;
  }

  const error =
    inputError instanceof FerryError
      ? inputError
      : inputError !== null
        ? new TemporaryError(`the stream into ${target} failed: ${(inputError as Error)?.message ?? String(inputError)}`, { code: 'STREAM_FAILED', cause: inputError })
        : receiveError(zfsErr, target, existed);
  await cleanUp(target, existed, keepPartial);
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
export async function cleanUp(target: string, existed: boolean, resumable: boolean): Promise<void> {
  const log = zfsLog();
  const deadline = Date.now() + CLEANUP_MS;
  if (existed) return;
  for (;;) {
    try {
      // one zfs get: whether it exists, its snapshots and (OpenZFS) its resume token
      const state = await readDataset(target);
      if (!state.exists) return;
      if (resumable && state.resumeToken) return; // kept for zfs send -t
      if (state.versions.length === 0 && !(await hasChildren(target))) {
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
