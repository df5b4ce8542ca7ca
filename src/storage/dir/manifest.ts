import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import { errnoCode, hashFile } from '../../util/fs.js';
import { assertRelativePath } from './names.js';

export type EntryType = 'file' | 'dir' | 'symlink';

/** One path of a snapshot. Parents come before their children. */
export interface ManifestEntry {
  /** relative, '/'-separated */
  path: string;
  type: EntryType;
  /** permission bits (& 0o7777); 0o777 for symlinks, which have none of their own on Linux */
  mode: number;
  /** bytes for files, 0 otherwise */
  size: number;
  /** files only */
  sha256?: string;
  /** symlinks only */
  target?: string;
  /** files only; the sender compares it to decide whether a file can be shared with the previous snapshot */
  mtimeMs?: number;
}

export type Manifest = ManifestEntry[];

export interface WalkItem {
  rel: string;
  abs: string;
  st: Stats;
}

/**
 * Pre-order walk (a directory before its content), names sorted so manifests are deterministic.
 * Entries that vanish while walking a live tree are skipped, as if deleted just before.
 */
export async function* walk(root: string): AsyncGenerator<WalkItem> {
  async function* inner(absDir: string, relDir: string): AsyncGenerator<WalkItem> {
    const names = await vanishedAs(readdir(absDir), [] as string[]);
    for (const name of names.sort()) {
      const abs = join(absDir, name);
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const st = await vanishedAs(lstat(abs), null);
      if (!st) continue;
      yield { rel, abs, st };
      if (st.isDirectory()) yield* inner(abs, rel);
    }
  }
  yield* inner(root, '');
}

async function vanishedAs<T, F>(p: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await p;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return fallback;
    throw err;
  }
}

export function permissionBits(st: Stats): number {
  return st.mode & 0o7777;
}

/**
 * Read a tree back into a manifest, hashing every file (except those whose hash the caller
 * already computed while writing them, in `knownHashes`). Used to verify a staged receive.
 */
export async function readManifest(root: string, knownHashes: Map<string, string> = new Map()): Promise<Manifest> {
  const out: Manifest = [];
  for await (const { rel, abs, st } of walk(root)) {
    if (st.isDirectory()) out.push({ path: rel, type: 'dir', mode: permissionBits(st), size: 0 });
    else if (st.isSymbolicLink()) out.push({ path: rel, type: 'symlink', mode: 0o777, size: 0, target: await readlink(abs) });
    else if (st.isFile()) {
      const known = knownHashes.get(rel);
      const sha256 = known ?? (await hashFile(abs)).sha256;
      out.push({ path: rel, type: 'file', mode: permissionBits(st), size: st.size, sha256, mtimeMs: st.mtimeMs });
    } else {
      throw new PermanentError(`unexpected special file ${abs}`, { code: 'CORRUPT_DATA' });
    }
  }
  return out;
}

/** The first difference between two manifests (mtimes aside), or null when they describe the same tree. */
export function manifestDifference(expected: Manifest, actual: Manifest): string | null {
  const actualByPath = new Map(actual.map((e) => [e.path, e]));
  for (const want of expected) {
    const got = actualByPath.get(want.path);
    if (!got) return `${want.path}: missing`;
    actualByPath.delete(want.path);
    if (got.type !== want.type) return `${want.path}: is a ${got.type}, expected a ${want.type}`;
    if (want.type !== 'symlink' && got.mode !== want.mode) {
      return `${want.path}: mode ${got.mode.toString(8)}, expected ${want.mode.toString(8)}`;
    }
    if (want.type === 'file') {
      if (got.size !== want.size) return `${want.path}: ${got.size} bytes, expected ${want.size}`;
      if (got.sha256 !== want.sha256) return `${want.path}: sha256 ${got.sha256}, expected ${want.sha256}`;
    }
    if (want.type === 'symlink' && got.target !== want.target) {
      return `${want.path}: link to ${JSON.stringify(got.target)}, expected ${JSON.stringify(want.target)}`;
    }
  }
  const extra = actualByPath.keys().next();
  return extra.done ? null : `${extra.value}: not in the manifest`;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Check a manifest that arrived in a stream before any of it is used: safe paths, known types,
 * and every parent listed earlier as a directory, so nothing is ever created through a symlink.
 */
export function assertValidManifest(value: unknown): asserts value is Manifest {
  const corrupt = (why: string) => new PermanentError(`corrupt stream: manifest ${why}`, { code: 'CORRUPT_STREAM' });
  if (!Array.isArray(value)) throw corrupt('is not a list');
  const kinds = new Map<string, EntryType>();
  for (const e of value as Partial<ManifestEntry>[]) {
    if (typeof e !== 'object' || e === null) throw corrupt('has a non-object entry');
    assertRelativePath(e.path, 'manifest');
    if (kinds.has(e.path)) throw corrupt(`lists ${e.path} twice`);
    const slash = e.path.lastIndexOf('/');
    if (slash >= 0 && kinds.get(e.path.slice(0, slash)) !== 'dir') throw corrupt(`lists ${e.path} before its directory`);
    if (!Number.isInteger(e.mode) || e.mode! < 0 || e.mode! > 0o7777) throw corrupt(`has a bad mode for ${e.path}`);
    if (!Number.isSafeInteger(e.size) || e.size! < 0) throw corrupt(`has a bad size for ${e.path}`);
    if (e.type === 'file') {
      if (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256)) throw corrupt(`has a bad sha256 for ${e.path}`);
    } else if (e.type === 'symlink') {
      if (typeof e.target !== 'string' || e.target === '' || e.target.includes('\0')) throw corrupt(`has a bad link target for ${e.path}`);
    } else if (e.type !== 'dir') {
      throw corrupt(`has an unknown type for ${e.path}`);
    }
    kinds.set(e.path, e.type);
  }
}
