import { PassThrough } from 'node:stream';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../../errors/index.js';
import type { SendOptions, SendStream, Version } from '../driver.js';
import { readVersions, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName } from './names.js';
import { runZfs, spawnZfs, zfsLog } from './run-zfs.js';

export interface ZfsSendOptions extends SendOptions {
  /**
   * OpenZFS only: continue an interrupted receive with `zfs send -t <token>` (the receiver's
   * `receive_resume_token`, see ZfsDriver.resumeToken); `from`, `to` and `intermediates` then only
   * name the step for messages.
   */
  resumeToken?: string;
}

function find(versions: Version[], fs: string, wanted: Version, role: string): Version {
  const found = versions.find((v) => v.guid === wanted.guid);
  if (!found) {
    throw new PermanentError(`${role} snapshot ${fs}@${wanted.name} (guid ${wanted.guid}) does not exist on the sender`, {
      code: 'SNAPSHOT_NOT_FOUND',
      details: { fs, name: wanted.name, guid: wanted.guid },
    });
  }
  return found;
}

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

/** The arguments of `zfs send` for a step: versions found on the sender by guid, validated. */
export async function sendArgs(ctx: ZfsContext, fs: string, from: Version | null, to: Version, opts: ZfsSendOptions = {}): Promise<string[]> {
  assertZfsName('filesystem', fs);
  assertZfsName('snapshot', to?.name);
  if (from !== null) assertZfsName('snapshot', from?.name);
  const { signal } = opts;
  const ds = ctx.dataset(fs);
  let args: string[];
  if (opts.resumeToken !== undefined) {
    if (!/^[0-9A-Za-z][0-9A-Za-z-]*$/.test(opts.resumeToken) || opts.resumeToken.length > 100_000) {
      throw new InvalidArgumentError(`invalid zfs resume token ${JSON.stringify(opts.resumeToken.slice(0, 80))}`, { code: 'INVALID_ARGUMENT' });
    }
    if (!zfsFeatures().resumable) throw new PermanentError('this zfs cannot resume a send (no zfs send -t)', { code: 'ZFS_UNSUPPORTED' });
    args = ['send', '-t', opts.resumeToken];
  } else {
    assertFullName(`${ds}@${to.name}`);
    if (signal?.aborted) throw new TemporaryError(`sending ${ds}@${to.name} aborted`, { code: 'ABORTED', cause: signal.reason });
    const versions = await readVersions(ds, signal);
    const toV = find(versions, fs, to, 'target');
    const fromV = from === null ? null : find(versions, fs, from, 'incremental source');
    assertZfsName('snapshot', toV.name); // the name on the sender now, found by guid
    if (fromV) assertZfsName('snapshot', fromV.name);
    if (fromV && fromV.createtxg >= toV.createtxg) {
      throw new PermanentError(`cannot send ${fs} from ${fromV.name} to ${toV.name}: the target is not newer`, {
        code: 'NOT_NEWER',
        details: { fs, from: fromV.name, to: toV.name },
      });
    }
    args = ['send', ...(fromV ? [opts.intermediates ? '-I' : '-i', `${ds}@${fromV.name}`] : []), `${ds}@${toV.name}`];
  }
  return args;
}

/**
 * `zfs send [-i|-I root/fs@from] root/fs@to`, its stdout handed out as the stream. Versions are
 * found by guid (a renamed snapshot is still the same version). The stream errors with a typed
 * error when zfs exits non-zero; destroying the stream or aborting the signal stops zfs.
 */
export async function createSendStream(ctx: ZfsContext, fs: string, from: Version | null, to: Version, opts: ZfsSendOptions = {}): Promise<SendStream> {
  const { signal } = opts;
  const args = await sendArgs(ctx, fs, from, to, opts);
  const sizeEstimate = await estimate(args, signal);

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
