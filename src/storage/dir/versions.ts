import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { errnoCode, lstatOrNull, randomHex, writeFileAtomic } from '../../util/fs.js';
import { isVisible, type Layout } from './layout.js';
import type { Manifest } from './manifest.js';
import { readIndex } from './snapshot-index.js';

export const META_FILE = 'meta.json';
export const MANIFEST_FILE = 'manifest.json';
/** meta of a received snapshot before its commit point (commit.ts): a version only once visible */
export const PENDING_META_FILE = 'meta.pending.json';

/** `<snapshot>/meta.json`: small, so listing versions does not read manifests. */
export interface SnapshotMeta {
  format: 'ferry-dir-meta-v1';
  fs: string;
  name: string;
  guid: string;
  createtxg: number;
  creation: string;
  /** the manifest lives next to it, in manifest.json */
  manifest: typeof MANIFEST_FILE;
  /** guid of the version this one was received on top of; absent for local snapshots and full receives */
  receivedFrom?: string | null;
}

export interface Snapshot {
  version: Version;
  dir: string;
}

/** meta.json files a listing reads at once */
const META_READS_AT_ONCE = 64;

/** 16 random bytes as hex: the identity a version keeps on every node it is received on. */
export function newGuid(): string {
  return randomHex(16);
}

export async function writeSnapshotFiles(dir: string, meta: SnapshotMeta, manifest: Manifest, opts: { pending?: boolean } = {}): Promise<void> {
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  await writeFileAtomic(join(dir, opts.pending ? PENDING_META_FILE : META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PermanentError(`corrupt metadata ${path}: ${(err as Error).message}`, { code: 'CORRUPT_METADATA', cause: err });
  }
}

/** Snapshots of one filesystem, oldest first; [] when it has none (or the root does not exist yet). */
export async function listSnapshots(layout: Layout, fs: string): Promise<Snapshot[]> {
  const indexed = await readIndex(layout, fs);
  if (indexed === null) return scanSnapshots(layout, fs);
  // names are checked ones (no '/', '.' or '..'): a concatenation is the join, without path.join's cost per snapshot
  const parent = layout.snapshotsDir(fs);
  return indexed.map((version) => ({ version, dir: `${parent}/${version.name}` }));
}

/** The versions of one filesystem, oldest first: listSnapshots without the directories. */
export async function listVersions(layout: Layout, fs: string): Promise<Version[]> {
  return (await readIndex(layout, fs)) ?? (await scanSnapshots(layout, fs)).map((s) => s.version);
}

/** listSnapshots without the index: every snapshot's meta.json read (the index's rebuild, and the truth when it disagrees). */
export async function scanSnapshots(layout: Layout, fs: string): Promise<Snapshot[]> {
  let names: string[];
  try {
    names = await readdir(layout.snapshotsDir(fs));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: Snapshot[] = [];
  const readOne = async (name: string) => {
    const dir = layout.snapshotDir(fs, name);
    const meta = await readMeta(layout, fs, name);
    if (meta === null) return;
    if (meta.name !== name || typeof meta.guid !== 'string' || !Number.isSafeInteger(meta.createtxg)) {
      throw new PermanentError(`corrupt metadata ${join(dir, META_FILE)}`, { code: 'CORRUPT_METADATA' });
    }
    out.push({ version: { name: meta.name, guid: meta.guid, createtxg: meta.createtxg!, creation: meta.creation }, dir });
  };
  // the metas are small files: read many at once (the order is restored below)
  for (let i = 0; i < names.length; i += META_READS_AT_ONCE) await Promise.all(names.slice(i, i + META_READS_AT_ONCE).map(readOne));
  return out.sort((a, b) => a.version.createtxg - b.version.createtxg);
}

/**
 * A snapshot's meta, or null when it is not a version: destroyed (renamed away whole) since the
 * readdir, or received but not committed (pending and not what <root>/<fs> shows; see commit.ts).
 */
async function readMeta(layout: Layout, fs: string, name: string): Promise<Partial<SnapshotMeta> | null> {
  const dir = layout.snapshotDir(fs, name);
  try {
    return (await readJson(join(dir, META_FILE))) as Partial<SnapshotMeta>;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (await isVisible(layout, fs, name)) {
    try {
      return (await readJson(join(dir, PENDING_META_FILE))) as Partial<SnapshotMeta>;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      return readMeta(layout, fs, name); // rolled forward meanwhile: meta.json is there now
    }
  }
  if (await lstatOrNull(join(dir, PENDING_META_FILE))) return null;
  if (!(await lstatOrNull(dir))) return null;
  try {
    return (await readJson(join(dir, META_FILE))) as Partial<SnapshotMeta>; // committed meanwhile
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    if (!(await lstatOrNull(dir))) return null;
    throw new PermanentError(`corrupt metadata: ${join(dir, META_FILE)} is missing`, { code: 'CORRUPT_METADATA' });
  }
}

export async function loadManifest(snapshotDir: string): Promise<Manifest> {
  return (await readJson(join(snapshotDir, MANIFEST_FILE))) as Manifest;
}
