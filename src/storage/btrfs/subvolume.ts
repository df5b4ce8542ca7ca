import { lstat, readdir } from 'node:fs/promises';
import { PermanentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import type { Layout } from './layout.js';
import { SUBVOLUME_INO } from './layout.js';
import { isUuid, isValidName } from './names.js';
import { runBtrfs } from './run-btrfs.js';

/** What `btrfs subvolume show` tells about one subvolume. */
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
  /** ISO time, from "Creation time" */
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

export async function showSubvolume(path: string, signal?: AbortSignal): Promise<SubvolumeInfo> {
  return parseSubvolumeShow(path, await runBtrfs(['subvolume', 'show', path], { signal }));
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

/**
 * Every subvolume in `<root>/.ferry/snapshots/<fs>/` with a valid name, by `btrfs subvolume show`.
 * Other entries (plain files or directories, invalid names) are ignored. A missing directory is empty.
 */
export async function scanSnapshots(layout: Layout, fs: string, signal?: AbortSignal): Promise<SnapshotScan> {
  let names: string[];
  try {
    names = await readdir(layout.snapshotsDir(fs));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { complete: [], partial: [] };
    throw err;
  }
  const complete: Snapshot[] = [];
  const partial: SubvolumeInfo[] = [];
  for (const name of names.sort()) {
    if (!isValidName(name)) continue;
    const path = layout.snapshotPath(fs, name);
    if (!(await isSubvolume(path))) continue;
    let info: SubvolumeInfo;
    try {
      info = await showSubvolume(path, signal);
    } catch (err) {
      // destroyed since readdir: no longer a version
      if (!(await isSubvolume(path))) continue;
      throw err;
    }
    if (info.readonly) complete.push({ version: toVersion(name, info), path, info });
    else partial.push(info);
  }
  // createtxg first; the subvolume id (allocated in increasing order) breaks ties
  complete.sort((a, b) => a.info.cgen - b.info.cgen || a.info.id - b.info.id);
  return { complete, partial };
}

export async function listSnapshots(layout: Layout, fs: string, signal?: AbortSignal): Promise<Snapshot[]> {
  return (await scanSnapshots(layout, fs, signal)).complete;
}
