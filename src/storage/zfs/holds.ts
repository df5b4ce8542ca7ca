import { FerryError, InvalidArgumentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { isNotFound, type ZfsContext } from './datasets.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName } from './names.js';
import { runZfs, zfsLog } from './run-zfs.js';

/**
 * Step holds and replication cursors (docs/zfs-driver.md, "Holds and bookmark cursors"): a user
 * hold keeps a snapshot from being destroyed while a step uses it (zfs-fuse and OpenZFS); a
 * bookmark per receiver remembers the last version it received, so the sender may destroy the
 * snapshot and still send incrementally from the bookmark (OpenZFS only).
 */

/** a hold tag or bookmark name ferry makes: its own prefix, then letters, digits, '-' */
const TAG = /^ferry-[a-z]+-[A-Za-z0-9-]{1,80}$/;

function assertTag(kind: string, tag: string): void {
  if (typeof tag !== 'string' || !TAG.test(tag)) throw new InvalidArgumentError(`invalid ${kind} ${JSON.stringify(tag)}`, { code: 'INVALID_NAME' });
}

const stderrOf = (err: unknown): string => String((err as FerryError)?.details?.stderr ?? (err as Error)?.message ?? '');

/** The full names of `names` of `fs`, each checked. */
function snapshotNames(ctx: ZfsContext, fs: string, names: string[]): string[] {
  assertZfsName('filesystem', fs);
  return names.map((name) => {
    assertZfsName('snapshot', name);
    const snapshot = `${ctx.dataset(fs)}@${name}`;
    assertFullName(snapshot);
    return snapshot;
  });
}

/**
 * `zfs hold|release <tag> snap...` in one command; when zfs refuses it for one of them with
 * `benign` (a hold a retried step already took, one already released), one at a time, ignoring those.
 */
async function eachOrAll(command: 'hold' | 'release', tag: string, snapshots: string[], benign: (err: unknown) => boolean): Promise<void> {
  try {
    await runZfs([command, tag, ...snapshots]);
  } catch (err) {
    if (!benign(err)) throw err;
    for (const snapshot of snapshots) {
      try {
        await runZfs([command, tag, snapshot]);
      } catch (e) {
        if (!benign(e)) throw e;
      }
    }
  }
}

/** `zfs hold <tag> fs@name ...`; a hold already there (a retried step) is fine. No-op where zfs has no holds. */
export async function holdSnapshots(ctx: ZfsContext, fs: string, names: string[], tag: string): Promise<void> {
  if (!zfsFeatures().holds || !names.length) return;
  assertTag('hold tag', tag);
  await eachOrAll('hold', tag, snapshotNames(ctx, fs, names), (err) => /tag already exists/i.test(stderrOf(err)));
}

/** `zfs release <tag> fs@name ...`; a hold or snapshot already gone is fine. No-op where zfs has no holds. */
export async function releaseSnapshots(ctx: ZfsContext, fs: string, names: string[], tag: string): Promise<void> {
  if (!zfsFeatures().holds || !names.length) return;
  assertTag('hold tag', tag);
  await eachOrAll('release', tag, snapshotNames(ctx, fs, names), (err) => isNotFound(err) || /no such tag/i.test(stderrOf(err)));
}

/** Pure: bookmarks of `dataset` from `zfs list -H -p -t bookmark -o name,guid,createtxg` output, as versions named `#<bookmark>`. */
function parseBookmarks(dataset: string, out: string): Version[] {
  const prefix = `${dataset}#`;
  const versions: Version[] = [];
  for (const line of out.split('\n')) {
    const [name, guid, createtxg] = line.split('\t');
    if (!name?.startsWith(prefix) || !/^\d+$/.test(guid ?? '') || !/^\d+$/.test(createtxg ?? '')) continue;
    versions.push({ name: `#${name.slice(prefix.length)}`, guid, createtxg: Number(createtxg) });
  }
  return versions.sort((a, b) => a.createtxg - b.createtxg);
}

/** The bookmarks of one filesystem as versions named `#<bookmark>`, oldest first; [] where zfs has none (zfs-fuse). */
export async function listBookmarks(ctx: ZfsContext, fs: string, signal?: AbortSignal): Promise<Version[]> {
  if (!zfsFeatures().bookmarks) return [];
  assertZfsName('filesystem', fs);
  const ds = ctx.dataset(fs);
  assertFullName(ds);
  try {
    return parseBookmarks(ds, await runZfs(['list', '-H', '-p', '-t', 'bookmark', '-d', '1', '-o', 'name,guid,createtxg', ds], { signal }));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/**
 * Points the bookmark `#<name>` of `fs` at `version` (a snapshot of it): the old bookmark of that
 * name goes first (bookmarks cannot be moved), then `zfs bookmark fs@snap fs#name`. Returns false
 * where zfs has no bookmarks (zfs-fuse: the protected version stays a snapshot).
 */
export async function setBookmark(ctx: ZfsContext, fs: string, version: Version, name: string): Promise<boolean> {
  if (!zfsFeatures().bookmarks) return false;
  assertTag('bookmark name', name);
  assertZfsName('filesystem', fs);
  assertZfsName('snapshot', version.name);
  const ds = ctx.dataset(fs);
  // the old one first (none the first time): two commands per move, no listing
  // (a failure to destroy it for another reason shows as `zfs bookmark` refusing the name)
  await runZfs(['destroy', `${ds}#${name}`]).catch(() => undefined);
  await runZfs(['bookmark', `${ds}@${version.name}`, `${ds}#${name}`]);
  zfsLog().debug({ dataset: ds, bookmark: name, snapshot: version.name }, 'zfs bookmark: cursor moved');
  return true;
}
