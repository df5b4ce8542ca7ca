import { InvalidArgumentError, PermanentError, type FerryError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { isoTime } from '../../util/time.js';
import { isValidZfsName } from './names.js';
import { zfsFeatures, type ZfsFeatures } from './features.js';
import { runZfs, zfsLog } from './run-zfs.js';

/** The dataset names of one driver: `root` is the container, filesystems are relative to it. */
export interface ZfsContext {
  root: string;
  endpoint: string;
  /** `root/fs` */
  dataset(fs: string): string;
  /**
   * datasets this driver found missing, with when (ms): a step asks after a new filesystem several
   * times (its versions, its resume token, the receive's own check) and zfs answers each with a
   * failing command; the driver asks once (a driver lives for one step or one plan). Anything this
   * driver creates clears it (forgetAbsent).
   */
  absent?: Map<string, number>;
}

/** how long "missing" is believed without asking zfs again */
const ABSENT_MS = 10_000;

/** Whether this driver found `dataset` missing a moment ago (and has created nothing since). */
export function knownAbsent(ctx: ZfsContext, dataset: string): boolean {
  const at = ctx.absent?.get(dataset);
  return at !== undefined && Date.now() - at < ABSENT_MS;
}

/** This driver is about to create datasets (a receive, the root): what it found missing may exist now. */
export function forgetAbsent(ctx: ZfsContext): void {
  ctx.absent?.clear();
}

const ABSENT: DatasetState = { exists: false, versions: [], resumeToken: null };

/**
 * readDataset (or readDatasetSettled, `settle`) through the driver's memory of missing datasets:
 * no command for a dataset found missing a moment ago; a missing one is remembered.
 */
export async function probeDataset(ctx: ZfsContext, dataset: string, signal?: AbortSignal, settle = false): Promise<DatasetState> {
  if (knownAbsent(ctx, dataset)) return { ...ABSENT };
  const state = settle ? await readDatasetSettled(dataset, signal) : await readDataset(dataset, signal);
  if (!state.exists) ctx.absent?.set(dataset, Date.now());
  return state;
}

/** OpenZFS: the receive_resume_token of `dataset` (one `zfs get` of that property alone); null when none or missing. */
export async function readResumeToken(ctx: ZfsContext, dataset: string): Promise<string | null> {
  if (knownAbsent(ctx, dataset)) return null;
  try {
    const out = (await runZfs(['get', '-H', '-o', 'value', 'receive_resume_token', dataset])).trim();
    return out === '' || out === '-' ? null : out;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    ctx.absent?.set(dataset, Date.now());
    return null;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as FerryError | null)?.code === 'NOT_FOUND';
}

/** Does the dataset (filesystem or volume) exist? */
export async function datasetExists(dataset: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await runZfs(['list', '-H', '-o', 'name', dataset], { signal });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Names of every filesystem and volume below the root, relative to it, sorted. */
export async function listDescendants(ctx: ZfsContext, signal?: AbortSignal): Promise<string[]> {
  let out: string;
  try {
    out = await runZfs(['list', '-H', '-r', '-t', 'filesystem,volume', '-o', 'name', ctx.root], { signal });
  } catch (err) {
    if (isNotFound(err)) {
      throw new InvalidArgumentError(`the root dataset ${ctx.root} of ${ctx.endpoint} does not exist`, {
        code: 'ROOT_NOT_FOUND',
        cause: err,
        details: { root: ctx.root },
      });
    }
    throw err;
  }
  const prefix = `${ctx.root}/`;
  const names: string[] = [];
  for (const line of out.split('\n')) {
    if (!line.startsWith(prefix)) continue; // the root itself is a container, not a filesystem
    const name = line.slice(prefix.length);
    // names the driver would refuse as arguments cannot be replicated: leave them out, say so
    if (isValidZfsName('filesystem', name)) names.push(name);
    else zfsLog().warn({ dataset: line }, 'zfs dataset name not usable by ferry: skipped');
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Pure: versions from `zfs get -H -p -o name,property,value guid,createtxg,creation` output,
 * keeping only snapshots of `dataset`, oldest first by createtxg.
 */
function parseVersions(dataset: string, out: string): Version[] {
  return parseVersionsByDataset(out, (d) => d === dataset).get(dataset) ?? [];
}

/**
 * Pure: the same output's snapshots grouped by their dataset (for the datasets `wanted` accepts),
 * each oldest first by createtxg; one pass over the lines however many datasets they hold.
 */
function parseVersionsByDataset(out: string, wanted: (dataset: string) => boolean): Map<string, Version[]> {
  const entries = new Map<string, Map<string, { guid?: string; createtxg?: number; creation?: string }>>();
  for (const line of out.split('\n')) {
    const [name, property, value] = line.split('\t');
    const at = name.indexOf('@');
    if (value === undefined || at < 0) continue;
    const dataset = name.slice(0, at);
    let byName = entries.get(dataset);
    if (byName === undefined) {
      if (!wanted(dataset)) continue;
      entries.set(dataset, (byName = new Map()));
    }
    const snap = name.slice(at + 1);
    const entry = byName.get(snap) ?? {};
    if (property === 'guid' && /^\d+$/.test(value)) entry.guid = value;
    else if (property === 'createtxg' && /^\d+$/.test(value)) entry.createtxg = Number(value);
    else if (property === 'creation' && /^\d+$/.test(value)) entry.creation = isoTime(Number(value) * 1000);
    byName.set(snap, entry);
  }
  const out2 = new Map<string, Version[]>();
  for (const [dataset, byName] of entries) {
    const versions: Version[] = [];
    for (const [name, e] of byName) {
      if (e.guid === undefined || e.createtxg === undefined) continue;
      versions.push(e.creation === undefined ? { name, guid: e.guid, createtxg: e.createtxg } : { name, guid: e.guid, createtxg: e.createtxg, creation: e.creation });
    }
    out2.set(dataset, versions.sort((a, b) => a.createtxg - b.createtxg));
  }
  return out2;
}

const VERSION_PROPS = 'guid,createtxg,creation';

/** A dataset as a receive finds it: whether it exists, its versions, oldest first, and its partial receive. */
export interface DatasetState {
  exists: boolean;
  versions: Version[];
  /** OpenZFS: the receive_resume_token of an interrupted `receive -s` into it; null when none (always on zfs-fuse) */
  resumeToken: string | null;
  /**
   * OpenZFS with native encryption: whether the dataset is encrypted (its `encryption` is not off);
   * read only when asked for (a send), false where zfs has no encryption
   */
  encrypted?: boolean;
}

/**
 * Pure: the properties readDataset asks zfs for: the versions', the resume token where zfs has
 * one (zfs-fuse refuses the property), and `encryption` only for a send that checks it (it is one
 * more line per snapshot of the dataset).
 */
export function datasetProperties(f: Pick<ZfsFeatures, 'resumable' | 'encryption'>, o: { encryption?: boolean } = {}): string {
  return [VERSION_PROPS, ...(f.resumable ? ['receive_resume_token'] : []), ...(f.encryption && o.encryption ? ['encryption'] : [])].join(',');
}

/**
 * Whether the dataset exists, and its snapshots, oldest first, from one command (the dataset's own
 * lines tell it exists); `encrypted` too when `o.encryption` asks. `zfs get -p` rather than `zfs
 * list -p`: zfs-fuse's `list` has no -p (it prints guids as "7.58E"), `get -p` is exact on both.
 */
export async function readDataset(dataset: string, signal?: AbortSignal, o: { encryption?: boolean } = {}): Promise<DatasetState> {
  let out: string;
  try {
    out = await runZfs(['get', '-H', '-p', '-r', '-d', '1', '-o', 'name,property,value', datasetProperties(zfsFeatures(), o), dataset], { signal });
  } catch (err) {
    if (isNotFound(err)) return { ...ABSENT };
    throw err;
  }
  const own = (property: string) => out.split('\n').map((l) => l.split('\t')).find(([name, p]) => name === dataset && p === property)?.[2];
  const token = own('receive_resume_token');
  const encryption = own('encryption');
  return {
    exists: true,
    versions: parseVersions(dataset, out),
    resumeToken: token === undefined || token === '' || token === '-' ? null : token,
    ...(o.encryption ? { encrypted: encryption !== undefined && encryption !== 'off' && encryption !== '-' && encryption !== '' } : {}),
  };
}

/** how long a full receive waits for a snapshotless dataset to go before calling it a conflict */
const PARTIAL_SETTLE_MS = 5000;

/**
 * readDataset for a full receive into `dataset`: a dataset that exists without any snapshot may be
 * the partial of a receive whose process was just killed (a crashed worker's `zfs receive`), which
 * zfs removes a moment later; so it is read again for a few seconds before anyone calls it a
 * conflict. A dataset with snapshots, or one that stays, is returned as it is.
 */
async function readDatasetSettled(dataset: string, signal?: AbortSignal, settleMs = PARTIAL_SETTLE_MS): Promise<DatasetState> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const state = await readDataset(dataset, signal);
    if (!state.exists || state.versions.length > 0 || state.resumeToken || Date.now() >= deadline) return state;
    await new Promise((r) => setTimeout(r, 250));
    signal?.throwIfAborted();
  }
}

/**
 * The snapshots of every filesystem below the root, by name relative to it, from one `zfs get -r`
 * (planning: one command per endpoint, not one per filesystem); empty when the root does not exist.
 */
export async function readAllVersions(ctx: ZfsContext, signal?: AbortSignal): Promise<Map<string, Version[]>> {
  let out: string;
  try {
    out = await runZfs(['get', '-H', '-p', '-r', '-o', 'name,property,value', VERSION_PROPS, ctx.root], { signal });
  } catch (err) {
    if (isNotFound(err)) return new Map();
    throw err;
  }
  const prefix = `${ctx.root}/`;
  const byFs = new Map<string, Version[]>();
  for (const [dataset, versions] of parseVersionsByDataset(out, (d) => d.startsWith(prefix))) byFs.set(dataset.slice(prefix.length), versions);
  return byFs;
}

/** Snapshots of one dataset, oldest first; [] when it does not exist. */
export async function readVersions(dataset: string, signal?: AbortSignal): Promise<Version[]> {
  return (await readDataset(dataset, signal)).versions;
}

/** The versions of the given snapshots (full names), in the order given. */
export async function readSnapshotVersions(snapshots: string[], signal?: AbortSignal): Promise<Version[]> {
  const out = await runZfs(['get', '-H', '-p', '-o', 'name,property,value', VERSION_PROPS, ...snapshots], { signal });
  return snapshots.map((full) => {
    const at = full.indexOf('@');
    const v = parseVersions(full.slice(0, at), out).find((x) => x.name === full.slice(at + 1));
    if (!v) throw new PermanentError(`snapshot ${full} not found after creating it`, { code: 'NOT_FOUND', details: { snapshot: full } });
    return v;
  });
}
