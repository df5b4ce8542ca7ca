import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { errnoCode, lstatOrNull, randomHex, writeFileAtomic } from '../../util/fs.js';
import type { Layout } from './layout.js';
import type { Manifest } from './manifest.js';

export const META_FILE = 'meta.json';
export const MANIFEST_FILE = 'manifest.json';

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

/** 16 random bytes as hex: the identity a version keeps on every node it is received on. */
export function newGuid(): string {
  return randomHex(16);
}

export async function writeSnapshotFiles(dir: string, meta: SnapshotMeta, manifest: Manifest): Promise<void> {
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  await writeFileAtomic(join(dir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
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
  let names: string[];
  try {
    names = await readdir(layout.snapshotsDir(fs));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: Snapshot[] = [];
  for (const name of names) {
    const dir = layout.snapshotDir(fs, name);
    let meta: Partial<SnapshotMeta>;
    try {
      meta = (await readJson(join(dir, META_FILE))) as Partial<SnapshotMeta>;
    } catch (err) {
      // destroyed (renamed away whole) since readdir: no longer a version, not a corrupt one
      if (errnoCode(err) === 'ENOENT' && !(await lstatOrNull(dir))) continue;
      throw err;
    }
    if (meta.name !== name || typeof meta.guid !== 'string' || !Number.isSafeInteger(meta.createtxg)) {
      throw new PermanentError(`corrupt metadata ${join(dir, META_FILE)}`, { code: 'CORRUPT_METADATA' });
    }
    out.push({ version: { name: meta.name, guid: meta.guid, createtxg: meta.createtxg!, creation: meta.creation }, dir });
  }
  return out.sort((a, b) => a.version.createtxg - b.version.createtxg);
}

export async function loadManifest(snapshotDir: string): Promise<Manifest> {
  return (await readJson(join(snapshotDir, MANIFEST_FILE))) as Manifest;
}
