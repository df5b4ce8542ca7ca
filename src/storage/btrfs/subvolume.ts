import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import { FreshShare } from '../../util/fresh-share.js';
import type { Version } from '../driver.js';
import type { Layout } from './layout.js';
import { SUBVOLUME_INO } from './layout.js';
import { mountedSubvolumeId } from './mount-subvolume.js';
import { isUuid, isValidName } from './names.js';
import { runBtrfs, runBtrfsPair } from './run-btrfs.js';

/** What `btrfs subvolume show` (or one row of `btrfs subvolume list`) tells about one subvolume. */
export interface SubvolumeInfo {
  path: string;
  uuid: string;
  /** set by btrfs receive once a subvolume is complete: the sender's (received) UUID */
  receivedUuid: string | null;
  parentUuid: string | null;
  id: number;
  /** "Gen at creation" (otransid): the filesystem generation the subvolume was created in */
  cgen: number;
  readonly: boolean;
  /** ISO time, from "Creation time" (otime), to the second */
  creation?: string;
}

export interface Snapshot {
  version: Version;
  path: string;
  info: SubvolumeInfo;
}

function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s+([A-Za-z][A-Za-z ()]*?):\s*(.*?)\s*$/.exec(line);
    if (m && !out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

/** "2026-11-21 12:03:56 +0000" -> ISO; undefined when btrfs prints something else. */
function isoTime(value: string | undefined): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(value ?? '');
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

const uuidOrNull = (v: string | undefined): string | null => (v !== undefined && isUuid(v.toLowerCase()) ? v.toLowerCase() : null);

/** Pure: parse the output of `btrfs subvolume show <path>`. */
function parseSubvolumeShow(path: string, text: string): SubvolumeInfo {
  const f = fields(text);
  const uuid = uuidOrNull(f.get('UUID'));
  const id = Number(f.get('Subvolume ID'));
  const cgen = Number(f.get('Gen at creation'));
  if (!uuid || !Number.isSafeInteger(id) || !Number.isSafeInteger(cgen)) {
    throw new PermanentError(`unexpected output of btrfs subvolume show ${path}: ${JSON.stringify(text.slice(0, 400))}`, {
      code: 'UNEXPECTED_OUTPUT',
      details: { path },
    });
  }
  return {
    path,
    uuid,
    receivedUuid: uuidOrNull(f.get('Received UUID')),
    parentUuid: uuidOrNull(f.get('Parent UUID')),
    id,
    cgen,
    readonly: /\breadonly\b/.test(f.get('Flags') ?? ''),
    creation: isoTime(f.get('Creation time')),
  };
}

/** `btrfs subvolume show`; a subvolume that is not a snapshot takes its creation as listReadonly() gives it. */
export async function showSubvolume(path: string, signal?: AbortSignal): Promise<SubvolumeInfo> {
  const info = parseSubvolumeShow(path, await runBtrfs(['subvolume', 'show', path], { signal }));
  return info.parentUuid === null ? { ...info, creation: (await birthTime(path)) ?? info.creation } : info;
}

/** A directory that is the root of a subvolume (its inode is 256): checked without running btrfs. */
export async function isSubvolume(path: string): Promise<boolean> {
  try {
    const st = await lstat(path);
    return st.isDirectory() && st.ino === SUBVOLUME_INO;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A version's guid: its Received UUID when it was received (the sender's identity), else its own UUID. */
function guidOf(info: SubvolumeInfo): string {
  return info.receivedUuid ?? info.uuid;
}

export function toVersion(name: string, info: SubvolumeInfo): Version {
  const v: Version = { name, guid: guidOf(info), createtxg: info.cgen };
  if (info.creation !== undefined) v.creation = info.creation;
  return v;
}

export interface SnapshotScan {
  /** read-only subvolumes: the versions, oldest first */
  complete: Snapshot[];
  /** writable subvolumes in the snapshot directory: what a failed or interrupted receive left */
  partial: SubvolumeInfo[];
}

/** One row of `btrfs subvolume list`: the columns asked for, the path as printed. */
interface ListedSubvolume {
  id: number;
  /** the id of the subvolume this one sits in */
  topLevel: number;
  cgen?: number;
  uuid?: string;
  parentUuid: string | null;
  receivedUuid: string | null;
  /** "2026-12-03 12:15:44", in the TZ btrfs ran with (UTC: run-btrfs sets it) */
  otime?: string;
  path: string;
}

/**
 * Pure: parse `btrfs subvolume list [-c] [-s] [-q] [-R] [-u]` output, one row per line:
 * `ID 257 gen 7 cgen 7 top level 5 otime 2026-12-03 12:15:44 parent_uuid - received_uuid - uuid … path a/b`.
 * The path is everything after " path " (the last column); a line that is not a row is refused;
 * a row whose path does not start with `pathPrefix` is left out.
 */
function parseSubvolumeList(text: string, pathPrefix = ''): ListedSubvolume[] {
  const rows: ListedSubvolume[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const at = line.indexOf(' path ');
    // rows elsewhere on the filesystem are skipped unread: a listing prints every subvolume of it
    if (at >= 0 && !line.startsWith(pathPrefix, at + ' path '.length)) continue;
    const tokens = at < 0 ? [] : line.slice(0, at).trim().split(/\s+/);
    const row: Partial<ListedSubvolume> & { parentUuid: string | null; receivedUuid: string | null } = { parentUuid: null, receivedUuid: null };
    for (let i = 0; i + 1 < tokens.length; i += 2) {
      const [key, value] = [tokens[i], tokens[i + 1]];
      if (key === 'ID') row.id = Number(value);
      else if (key === 'cgen') row.cgen = Number(value);
      else if (key === 'top') row.topLevel = Number(tokens[++i + 1]); // "top level N"
      else if (key === 'otime') row.otime = `${value} ${tokens[++i + 1]}`; // "otime DATE TIME"
      else if (key === 'uuid') row.uuid = uuidOrNull(value) ?? undefined;
      else if (key === 'parent_uuid') row.parentUuid = uuidOrNull(value);
      else if (key === 'received_uuid') row.receivedUuid = uuidOrNull(value);
    }
    if (at < 0 || !Number.isSafeInteger(row.id) || !Number.isSafeInteger(row.topLevel) || (row.cgen !== undefined && !Number.isSafeInteger(row.cgen))) {
      throw new PermanentError(`unexpected output of btrfs subvolume list: ${JSON.stringify(line.slice(0, 400))}`, { code: 'UNEXPECTED_OUTPUT' });
    }
    rows.push({ ...row, path: line.slice(at + ' path '.length) } as ListedSubvolume);
  }
  return rows;
}

/** "2026-12-03 12:15:44" (UTC) -> ISO; undefined for anything else. */
function isoFromUtc(value: string | undefined): string | undefined {
  return value === undefined ? undefined : isoTime(`${value} +0000`);
}

/**
 * The directory of the subvolume that holds `dir` (the nearest ancestor, or `dir` itself, with
 * inode 256 on the same device), with its lstat: `btrfs subvolume list <dir>` prints the paths of
 * the subvolumes in it relative to it (and others' from the top level).
 */
async function holdingSubvolume(dir: string): Promise<{ path: string; st: Stats }> {
  const top = await lstat(dir);
  for (let d = dir; ; d = dirname(d)) {
    const st = d === dir ? top : await lstat(d);
    if (st.dev !== top.dev) return { path: dir, st: top }; // a mount in between: paths will not match, every entry falls back to show
    if (st.ino === SUBVOLUME_INO || dirname(d) === d) return { path: d, st };
  }
}

/** subvolume ids by the holding subvolume's path and identity (see holderId) */
const holderIds = new Map<string, number>();

/**
 * The id of the subvolume that holds the root, once per holding subvolume per process: keyed by its
 * path, device (btrfs gives each subvolume its own) and birth time, so a subvolume deleted and made
 * again at the same path is asked about afresh. A holding subvolume that is a mount's root (the
 * usual case: a filesystem or a subvolume mounted there) has its id in the mount table
 * (mount-subvolume.ts); any other is asked of `btrfs inspect-internal rootid`.
 */
async function holderId(root: string, holder: { path: string; st: Stats }, signal?: AbortSignal): Promise<number> {
  const key = `${holder.path}\0${holder.st.dev}\0${holder.st.birthtimeMs}`;
  const known = holderIds.get(key);
  if (known !== undefined) return known;
  const id = (holder.st.ino === SUBVOLUME_INO ? await mountedSubvolumeId(holder.path) : null) ?? (await askRootid(root, signal));
  holderIds.set(key, id);
  return id;
}

/** `btrfs inspect-internal rootid <path>`: the id of the subvolume that holds it */
async function askRootid(path: string, signal?: AbortSignal): Promise<number> {
  const out = await runBtrfs(['inspect-internal', 'rootid', path], { signal });
  const id = Number(out.trim());
  if (!Number.isSafeInteger(id)) throw new PermanentError(`unexpected output of btrfs inspect-internal rootid: ${JSON.stringify(out.slice(0, 200))}`, { code: 'UNEXPECTED_OUTPUT' });
  return id;
}

/**
 * The read-only subvolumes directly in the subvolume that holds the root and below its snapshot
 * directory (<root>/.ferry/snapshots), by absolute path, whatever
 * the number of snapshots: `subvolume list -r` with the UUID columns and createtxg, and (unless
 * `times` is false: a step only matches versions by guid) again with -s for the creation times of
 * snapshots (only -s prints them, and only for snapshots), the two at once; the id of the holding
 * subvolume, whose subvolumes' paths are printed relative to it, is `inspect-internal rootid`'s,
 * once per process (holderId). A read-only subvolume that is not a snapshot (a full receive) takes
 * its creation time from its root directory's birth time, which the kernel sets when it creates
 * the subvolume.
 */
export async function listReadonly(layout: Layout, signal?: AbortSignal, opts: { times?: boolean } = {}): Promise<Map<string, SubvolumeInfo>> {
  // the two listings run at once, in one shell (one fork of Node)
  const [[rowsText, timesText], context] = await Promise.all([
    opts.times === false ? Promise.all([runBtrfs(listingArgs(layout), { signal }), '']) : runBtrfsPair(listingArgs(layout), ['subvolume', 'list', '-r', '-s', layout.root], { signal }),
    listingContext(layout, signal),
  ]);
  return readListing(layout, context, rowsText, timesText);
}

/** the `btrfs` arguments of listReadonly()'s listing without creation times (for a shell that runs it: readListing() reads it) */
export function listingArgs(layout: Layout): string[] {
  return ['subvolume', 'list', '-r', '-c', '-q', '-R', '-u', layout.root];
}

/** What reading a listing needs: the subvolume holding the root, and its id (holderId). */
export interface ListingContext {
  base: string;
  holder: number;
}

export async function listingContext(layout: Layout, signal?: AbortSignal): Promise<ListingContext> {
  const holding = await holdingSubvolume(layout.root);
  return { base: holding.path, holder: await holderId(layout.root, holding, signal) };
}

/** listReadonly()'s answer from the text of listingArgs()'s listing (and of the `-s` one, for creation times). */
export function readListing(layout: Layout, { base, holder }: ListingContext, rowsText: string, timesText = ''): Map<string, SubvolumeInfo> {
  // every caller looks up snapshots below <root>/.ferry/snapshots: the rest is not parsed (the
  // paths are printed relative to the holding subvolume)
  const below = relative(base, layout.snapshotsRoot);
  const prefix = below === '' || below.startsWith('..') ? '' : `${below}/`;
  const otimes = new Map(parseSubvolumeList(timesText, prefix).map((r) => [r.id, r.otime]));
  const out = new Map<string, SubvolumeInfo>();
  for (const row of parseSubvolumeList(rowsText, prefix)) {
    if (row.topLevel !== holder) continue; // elsewhere on the filesystem, printed from the top level
    if (row.uuid === undefined || row.cgen === undefined) {
      throw new PermanentError(`unexpected output of btrfs subvolume list: no uuid or cgen for ${row.path}`, { code: 'UNEXPECTED_OUTPUT' });
    }
    const path = join(base, row.path);
    out.set(path, {
      path,
      uuid: row.uuid,
      receivedUuid: row.receivedUuid,
      parentUuid: row.parentUuid,
      id: row.id,
      cgen: row.cgen,
      readonly: true,
      creation: isoFromUtc(otimes.get(row.id)),
    });
  }
  return out;
}

/** how old a sender's listing a step may take (recentListing) */
const SENDER_LISTING_REUSE_MS = 2000;
const fresh = new FreshShare<Map<string, SubvolumeInfo>>(SENDER_LISTING_REUSE_MS);
/** steps match versions by guid: their listings leave out the creation times (one btrfs command, not two) */
const stepsRead = (layout: Layout) => () => listReadonly(layout, undefined, { times: false });

/** A point in time for freshListing(): a listing begun after it sees everything done before it. */
export function listingMark(): number {
  return fresh.mark();
}

/**
 * listReadonly() without creation times, from a listing of the endpoint begun after `mark` and
 * shared with this process's other callers it is fresh for: steps running at once (a receiver's
 * lock taken, a receive exited) mostly share one `btrfs subvolume list` instead of forking one each.
 */
export function freshListing(layout: Layout, mark: number, signal?: AbortSignal): Promise<Map<string, SubvolumeInfo>> {
  return fresh.get(layout.root, mark, stepsRead(layout), signal);
}

/**
 * listReadonly() without creation times from a listing begun at most 2 s ago, shared: for a
 * sender's step, which finds its snapshots' paths by guid and is checked at the other end (the
 * received subvolume must carry the planned UUID). A snapshot renamed or replaced within those 2 s
 * fails the step, whose retry lists afresh. Whatever this process changes on the endpoint is
 * forgotten at once (forgetListing).
 */
export function recentListing(layout: Layout, signal?: AbortSignal): Promise<Map<string, SubvolumeInfo>> {
  return fresh.recent(layout.root, SENDER_LISTING_REUSE_MS, stepsRead(layout), signal);
}

/** This process changed the endpoint's subvolumes: recentListing() lists afresh. */
export function forgetListing(layout: Layout): void {
  fresh.forget(layout.root);
}

/** A full receive's creation: its root directory's birth time, to the second (as btrfs prints otime). */
async function birthTime(path: string): Promise<string | undefined> {
  const ms = (await lstat(path)).birthtimeMs;
  return ms > 0 ? new Date(Math.floor(ms / 1000) * 1000).toISOString() : undefined;
}

/** Entries with a valid name of a snapshot directory, sorted; none when it is missing. */
export async function validEntries(layout: Layout, fs: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(layout.snapshotsDir(fs));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  return names.filter((name) => isValidName(name)).sort();
}

/**
 * Every subvolume in `<root>/.ferry/snapshots/<fs>/` with a valid name. Other entries (plain files
 * or directories, invalid names) are ignored. A missing directory is empty. `readonly` is the
 * endpoint's listReadonly(), made when there is a subvolume to describe (or asked of `readonly`,
 * when one listing serves several filesystems); a subvolume it does not hold (writable: a partial receive,
 * or a path it printed otherwise) is asked about with `btrfs subvolume show`.
 */
export async function scanSnapshots(layout: Layout, fs: string, signal?: AbortSignal, readonly?: () => Promise<Map<string, SubvolumeInfo>>): Promise<SnapshotScan> {
  const names = await validEntries(layout, fs);
  const complete: Snapshot[] = [];
  const partial: SubvolumeInfo[] = [];
  if (names.length === 0) return { complete, partial };
  const listed = await (readonly ? readonly() : listReadonly(layout, signal));
  for (const name of names) {
    const path = layout.snapshotPath(fs, name);
    let info = listed.get(path);
    // what the listing holds is a subvolume at that path: only the rest is looked at one by one
    if (info === undefined) {
      if (!(await isSubvolume(path))) continue; // a plain file or directory: not a snapshot
      try {
        info = await showSubvolume(path, signal);
      } catch (err) {
        // destroyed since readdir: no longer a version
        if (!(await isSubvolume(path))) continue;
        throw err;
      }
    } else if (info.creation === undefined && info.parentUuid === null) {
      info = { ...info, creation: await birthTime(path) };
    }
    if (info.readonly) complete.push({ version: toVersion(name, info), path, info });
    else partial.push(info);
  }
  // createtxg first; the subvolume id (allocated in increasing order) breaks ties
  complete.sort((a, b) => a.info.cgen - b.info.cgen || a.info.id - b.info.id);
  return { complete, partial };
}

export async function listSnapshots(layout: Layout, fs: string, signal?: AbortSignal, readonly?: () => Promise<Map<string, SubvolumeInfo>>): Promise<Snapshot[]> {
  return (await scanSnapshots(layout, fs, signal, readonly)).complete;
}
