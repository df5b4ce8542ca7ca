import { PassThrough } from 'node:stream';
import { FerryError, InvalidArgumentError, PermanentError, TemporaryError } from '../../errors/index.js';
import type { SendFlags, SendOptions, SendStream, Version } from '../driver.js';
import { findSendPair } from '../find-snapshot.js';
import { readDataset, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { listBookmarks } from './holds.js';
import { assertFullName, assertZfsName } from './names.js';
import { runZfs, spawnZfs, zfsLog } from './run-zfs.js';

/** `size\t<bytes>` from `zfs send -n -P` output (OpenZFS prints it on stdout, older ones on stderr). */
export function parseDryRunSize(out: string): number | undefined {
  const m = /^size\s+(\d+)\s*$/m.exec(out);
  return m ? Number(m[1]) : undefined;
}

async function estimate(args: string[], signal?: AbortSignal): Promise<number | undefined> {
  if (!zfsFeatures().dryRunSize) return undefined;
  try {
    return parseDryRunSize(await runZfs(['send', '-n', '-P', ...args.slice(1)], { signal, timeoutMs: 60_000 }));
  } catch (err) {
    zfsLog().debug({ err: (err as Error).message }, 'zfs send dry run failed: no size estimate');
    return undefined;
  }
}

/** What `zfs send -n -v -P -t <token>` tells of a resume token (OpenZFS). */
interface ResumeInfo {
  /** guid of the incremental source, "0" for a full stream (decimal, as Version.guid) */
  fromguid: string;
  /** guid of the snapshot the interrupted stream carried */
  toguid: string;
  /** full name of that snapshot on the sender, e.g. "p1/data/a@s2" */
  toname: string;
  /** bytes already received before the interruption */
  received?: number;
  /** bytes left to send */
  size?: number;
}

/** a number in an nvlist dump: 0x-hex or decimal */
const NUMBER = /^(0x[0-9a-f]+|\d+)$/i;
const toDecimal = (v: string): string => BigInt(v).toString(10);

/**
 * Pure: parses the dry run's token dump (`\tfromguid = 0x...`, `\ttoguid = 0x...`, `\ttoname = ...`,
 * `\tbytes = 0x...`) and its `size\t<n>` line; null when it has no toguid or toname.
 */
function parseResumeInfo(out: string): ResumeInfo | null {
  const field = (name: string) => new RegExp(`^\\s*${name}\\s*=\\s*(\\S.*?)\\s*$`, 'm').exec(out)?.[1];
  const toguid = field('toguid');
  const toname = field('toname');
  if (!toguid || !toname || !NUMBER.test(toguid)) return null;
  const fromguid = field('fromguid');
  const bytes = field('bytes');
  return {
    fromguid: fromguid && NUMBER.test(fromguid) ? toDecimal(fromguid) : '0',
    toguid: toDecimal(toguid),
    toname,
    received: bytes && NUMBER.test(bytes) ? Number(BigInt(bytes)) : undefined,
    size: parseDryRunSize(out),
  };
}

/**
 * What an OpenZFS resume token continues, read by the sender's zfs (`zfs send -nvPt`), which also
 * checks its snapshots still exist. RESUME_STALE when zfs cannot resume from it (the snapshot is
 * gone, the token is damaged): the receiver's partial state is then of no use.
 */
async function inspectResumeToken(token: string, signal?: AbortSignal): Promise<ResumeInfo> {
  if (typeof token !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z-]*$/.test(token) || token.length > 100_000) {
    throw new InvalidArgumentError(`invalid zfs resume token ${JSON.stringify(String(token).slice(0, 80))}`, { code: 'INVALID_ARGUMENT' });
  }
  if (!zfsFeatures().resumable) throw new PermanentError('this zfs cannot resume a send (no zfs send -t): sending afresh', { code: 'RESUME_UNSUPPORTED' });
  let out: string;
  try {
    out = await runZfs(['send', '-n', '-v', '-P', '-t', token], { signal, timeoutMs: 60_000 });
  } catch (err) {
    if ((err as FerryError).code === 'ABORTED') throw err;
    throw new PermanentError(`zfs cannot resume from the receiver's token: ${(err as Error).message}`, { code: 'RESUME_STALE', cause: err });
  }
  const info = parseResumeInfo(out);
  if (!info) throw new PermanentError(`zfs send -nvPt printed no token contents: ${out.slice(0, 300)}`, { code: 'RESUME_STALE' });
  return info;
}

/** RESUME_MISMATCH unless the token continues exactly this step: same dataset, same from and to guids. */
function assertResumesStep(info: ResumeInfo, dataset: string, from: Version | null, to: Version): void {
  const tokenDataset = info.toname.split('@')[0];
  const fromguid = from?.guid ?? '0';
  if (tokenDataset !== dataset || info.toguid !== to.guid || info.fromguid !== fromguid) {
    throw new PermanentError(
      `the receiver's partial receive continues ${info.toname} (from guid ${info.fromguid}), not this step ` +
        `(${dataset}@${to.name}, guid ${to.guid}, from guid ${fromguid})`,
      { code: 'RESUME_MISMATCH', details: { token: { ...info }, dataset, from: fromguid, to: to.guid } },
    );
  }
}

const FLAG_FEATURES = [
  ['raw', '-w', 'sendRaw', 'send.raw'],
  ['compressed', '-c', 'sendCompressed', 'send.compressed'],
  ['largeBlocks', '-L', 'sendLargeBlocks', 'send.large_blocks'],
  ['properties', '-p', 'sendProperties', 'send.properties'],
] as const;

/**
 * The `zfs send` flags of a job's options, in zfs's order; PermanentError SEND_OPTION_UNSUPPORTED
 * naming the option when the zfs here cannot (zfs-fuse has -p only): refused rather than sent
 * without it, since the receiver would then hold something else than the job asked for.
 */
export function sendFlags(o: SendFlags | undefined): string[] {
  if (!o) return [];
  const f = zfsFeatures();
  const out: string[] = [];
  for (const [key, flag, feature, field] of FLAG_FEATURES) {
    if (!o[key]) continue;
    if (!f[feature]) {
      throw new PermanentError(`${field}: this zfs has no zfs send ${flag} (zfs-fuse has only -p): remove ${field} from the job or use OpenZFS`, {
        code: 'SEND_OPTION_UNSUPPORTED', details: { field, flag },
      });
    }
    out.push(flag);
  }
  return out;
}

/**
 * A plain (non-raw) send of an encrypted dataset gives the receiver the data decrypted: refused
 * (PermanentError ENCRYPTED_SEND) unless the job asks for it (send.allow_decrypted_send); send.raw
 * (-w) keeps it encrypted.
 */
function assertDecryptedSendAllowed(dataset: string, encrypted: boolean, o: SendFlags | undefined): void {
  if (!encrypted || o?.raw || o?.allowDecryptedSend) return;
  throw new PermanentError(
    `${dataset} is encrypted: a plain zfs send would give the receiver its data decrypted. Set send.raw (zfs send -w, ` +
      'the receiver stays encrypted) or, to send it decrypted on purpose, send.allow_decrypted_send',
    { code: 'ENCRYPTED_SEND', details: { dataset, field: 'send.raw' } },
  );
}

/** The sender's bookmark with `from`'s guid (found by guid, as snapshots are); SNAPSHOT_NOT_FOUND when there is none. */
async function bookmarkBase(ctx: ZfsContext, fs: string, from: Version, signal?: AbortSignal): Promise<Version> {
  const base = (await listBookmarks(ctx, fs, signal)).find((b) => b.guid === from.guid);
  if (!base) {
    throw new PermanentError(`the incremental source ${from.name} (guid ${from.guid}) is no longer a bookmark of ${ctx.dataset(fs)}`, {
      code: 'SNAPSHOT_NOT_FOUND', details: { filesystem: fs, guid: from.guid },
    });
  }
  return base;
}

export interface SendPlan {
  /** `zfs send` arguments */
  args: string[];
  /** bytes the stream will carry, when zfs can tell (OpenZFS dry run); undefined otherwise */
  size?: number;
}

/**
 * The `zfs send` of a step, versions found on the sender by guid and validated, and its size from a
 * dry run where zfs has one (for a resumed stream, what is left).
 */
export async function planSend(ctx: ZfsContext, fs: string, from: Version | null, to: Version, opts: SendOptions = {}): Promise<SendPlan> {
  assertZfsName('filesystem', fs);
  assertZfsName('snapshot', to?.name);
  const fromBookmark = from !== null && typeof from?.name === 'string' && from.name.startsWith('#');
  if (from !== null) assertZfsName('snapshot', fromBookmark ? from.name.slice(1) : from?.name);
  const { signal } = opts;
  const ds = ctx.dataset(fs);
  if (opts.resumeToken !== undefined) {
    const info = await inspectResumeToken(opts.resumeToken, signal);
    assertResumesStep(info, ds, from, to);
    return { args: ['send', '-t', opts.resumeToken], size: info.size };
  }
  assertFullName(`${ds}@${to.name}`);
  if (signal?.aborted) throw new TemporaryError(`sending ${ds}@${to.name} aborted`, { code: 'ABORTED', cause: signal.reason });
  const flags = sendFlags(opts.flags);
  const state = await readDataset(ds, signal, { encryption: true });
  assertDecryptedSendAllowed(ds, state.encrypted === true, opts.flags);
  const versions = state.versions.map((version) => ({ version }));
  if (fromBookmark) {
    // an incremental from a bookmark (a replication cursor: the snapshot itself may be gone): -i only, zfs has no -I from one
    const base = await bookmarkBase(ctx, fs, from!, signal);
    const { toSnap: { version: toV } } = findSendPair(versions, fs, null, to);
    if (toV.createtxg <= base.createtxg) throw new PermanentError(`${ds}@${toV.name} is not newer than ${ds}${base.name}`, { code: 'NOT_NEWER' });
    assertZfsName('snapshot', toV.name);
    const args = ['send', ...flags, '-i', `${ds}${base.name}`, `${ds}@${toV.name}`];
    return { args, size: await estimate(args, signal) };
  }
  const { toSnap: { version: toV }, fromSnap } = findSendPair(versions, fs, from, to);
  const fromV = fromSnap?.version ?? null;
  assertZfsName('snapshot', toV.name); // the name on the sender now, found by guid
  if (fromV) assertZfsName('snapshot', fromV.name);
  const args = ['send', ...flags, ...(fromV ? [opts.intermediates ? '-I' : '-i', `${ds}@${fromV.name}`] : []), `${ds}@${toV.name}`];
  return { args, size: await estimate(args, signal) };
}

/**
 * `zfs send [-i|-I root/fs@from] root/fs@to`, its stdout handed out as the stream. Versions are
 * found by guid (a renamed snapshot is still the same version). The stream errors with a typed
 * error when zfs exits non-zero; destroying the stream or aborting the signal stops zfs.
 */
export async function createSendStream(ctx: ZfsContext, fs: string, from: Version | null, to: Version, opts: SendOptions = {}): Promise<SendStream> {
  const { signal } = opts;
  const { args, size: sizeEstimate } = await planSend(ctx, fs, from, to, opts);

  const proc = spawnZfs(args, { signal, stdout: 'pipe' });
  const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  proc.stdout!.pipe(stream, { end: false });
  // 'close' of zfs comes after its stdout ended: every byte is in `stream` by then
  proc.done.then(
    () => stream.end(),
    (err: Error) => stream.destroy(err),
  );
  // the consumer went away (destroyed the stream): stop zfs, which otherwise blocks on a full pipe
  stream.on('close', () => {
    if (!proc.exited) void proc.stop();
  });
  // piped into something that closed before the end (a failed receive destroys its input): nobody
  // will read the rest, so end here too instead of leaving zfs send blocked (pipeline() does the same)
  const pipe = stream.pipe.bind(stream);
  stream.pipe = (<T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }) => {
    (dest as unknown as NodeJS.EventEmitter).once('close', () => {
      if (!stream.readableEnded && !stream.destroyed) stream.destroy();
    });
    return pipe(dest, options);
  }) as typeof stream.pipe;
  return { stream, sizeEstimate };
}
