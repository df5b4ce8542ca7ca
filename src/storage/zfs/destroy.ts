import { PermanentError, type FerryError } from '../../errors/index.js';
import { isNotFound, readVersions, type ZfsContext } from './datasets.js';
import { assertFullName, assertZfsName } from './names.js';
import { runZfs, stderrSummary } from './run-zfs.js';

function notFound(ctx: ZfsContext, fs: string, name: string, cause?: unknown): PermanentError {
  return new PermanentError(`snapshot ${fs}@${name} does not exist in ${ctx.endpoint}`, { code: 'SNAPSHOT_NOT_FOUND', cause, details: { fs, name, snapshot: `${ctx.dataset(fs)}@${name}` } });
}

/**
 * `zfs destroy <root/fs>@<name>`: that one snapshot. Never -r/-R (no clones, no children, no other
 * snapshots go with it), never a dataset (the argument always holds '@'), and the validated names hold
 * no ',' or '%', which zfs would read as a list or a range of snapshots. A snapshot zfs must keep
 * (dependent clones, user holds) is a PermanentError saying so; nothing is released or promoted.
 */
export async function destroySnapshot(ctx: ZfsContext, fs: string, name: string): Promise<void> {
  assertZfsName('filesystem', fs);
  assertZfsName('snapshot', name);
  const snapshot = `${ctx.dataset(fs)}@${name}`;
  assertFullName(snapshot);
  if (!(await readVersions(ctx.dataset(fs))).some((v) => v.name === name)) throw notFound(ctx, fs, name);
  try {
    await runZfs(['destroy', snapshot]);
  } catch (err) {
    throw await whyKept(err, ctx, fs, name, snapshot);
  }
}

/** A failed destroy as the caller needs it: gone meanwhile, kept by clones or holds, or zfs' own error. */
async function whyKept(err: unknown, ctx: ZfsContext, fs: string, name: string, snapshot: string): Promise<unknown> {
  const e = err as FerryError;
  const stderr = typeof e?.details?.stderr === 'string' ? e.details.stderr : '';
  const details = { fs, name, snapshot, stderr };
  if (/dependent clones/i.test(stderr)) {
    return new PermanentError(`cannot destroy ${snapshot}: it has dependent clones, which ferry does not destroy (no -R); destroy or \`zfs promote\` them first (zfs: ${stderrSummary(stderr)})`, { code: 'SNAPSHOT_HAS_CLONES', cause: err, details });
  }
  if (isNotFound(err) || /could not find any snapshots/i.test(stderr)) return notFound(ctx, fs, name, err);
  // a user hold makes zfs answer "dataset is busy", which is otherwise worth a retry: not with a hold
  if (e?.code === 'BUSY') {
    const holds = Number((await runZfs(['get', '-H', '-p', '-o', 'value', 'userrefs', snapshot]).catch(() => '')).trim());
    if (Number.isInteger(holds) && holds > 0) {
      return new PermanentError(`cannot destroy ${snapshot}: it has ${holds} user hold${holds === 1 ? '' : 's'} (zfs hold); \`zfs release\` them first (zfs: ${stderrSummary(stderr)})`, { code: 'SNAPSHOT_HELD', cause: err, details: { ...details, holds } });
    }
  }
  return err;
}
