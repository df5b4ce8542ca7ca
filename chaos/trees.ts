import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rng } from './random.js';

/**
 * Test data and byte-for-byte comparison of trees: what a sender snapshot holds and what a receiver
 * shows must be the same files with the same bytes, modes and symlink targets.
 */

/** relative path -> "d <mode>" | "f <mode> <sha256>" | "l <target>" */
export type TreeDigest = Map<string, string>;

export async function digestTree(dir: string): Promise<TreeDigest> {
  const out: TreeDigest = new Map();
  async function walk(abs: string, rel: string): Promise<void> {
    const entries = (await readdir(abs, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(r, `l ${await readlink(p)}`);
      else if (st.isDirectory()) {
        out.set(r, `d ${mode}`);
        await walk(p, r);
      } else {
        const h = createHash('sha256');
        for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
        out.set(r, `f ${mode} ${h.digest('hex')}`);
      }
    }
  }
  // the top may be a symlink (a dir receiver's visible tree): stat follows it
  if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
  await walk(dir, '');
  return out;
}

/** The first differences between two digests (empty when equal). */
export function diffDigests(a: TreeDigest, b: TreeDigest, max = 5): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    if (out.length >= max) return out;
    if (!b.has(k)) out.push(`missing ${k}`);
    else if (b.get(k) !== v) out.push(`differs ${k}: ${v} vs ${b.get(k)}`);
  }
  for (const k of b.keys()) {
    if (out.length >= max) return out;
    if (!a.has(k)) out.push(`extra ${k}`);
  }
  return out;
}

/** A pool of random bytes files are cut from (fast; the content need not be reproducible byte for byte). */
function pool(rng: Rng, size: number): Buffer {
  const seed = rng.bytes(4096);
  const out = Buffer.allocUnsafe(size);
  for (let off = 0; off < size; off += seed.length) {
    seed.copy(out, off);
    // vary each block so files do not repeat one 4 KiB pattern
    out.writeUInt32LE((off * 2654435761) >>> 0, Math.min(off, size - 4));
  }
  return out;
}

export interface TreeShape {
  files: number;
  /** total bytes, spread log-uniformly over the files */
  bytes: number;
}

/** Fills `dir` with `shape.files` files in a few subdirectories, a symlink and an odd mode or two. */
export async function makeTree(dir: string, rng: Rng, shape: TreeShape): Promise<void> {
  await mkdir(dir, { recursive: true });
  const src = pool(rng, Math.max(1 << 20, Math.ceil((shape.bytes / shape.files) * 4)));
  const weights = Array.from({ length: shape.files }, () => Math.exp(rng.next() * 6));
  const sum = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < shape.files; i++) {
    const sub = join(dir, `d${rng.int(0, 3)}`);
    await mkdir(sub, { recursive: true });
    const size = Math.max(1, Math.floor((weights[i] / sum) * shape.bytes));
    await writeFile(join(sub, `f${i}.bin`), sliceOf(src, rng, size));
  }
  await writeFile(join(dir, 'README'), `chaos tree ${rng.int(0, 1e9)}\n`);
  await chmod(join(dir, 'README'), 0o640);
  await symlink('README', join(dir, 'link-to-readme'));
}

function sliceOf(src: Buffer, rng: Rng, size: number): Buffer {
  if (size <= src.length) {
    const off = rng.int(0, src.length - size);
    return src.subarray(off, off + size);
  }
  return Buffer.concat(Array.from({ length: Math.ceil(size / src.length) }, () => src)).subarray(0, size);
}

/** Changes a tree as a user would between snapshots: rewrites, appends, deletes, renames, new files. */
export async function mutateTree(dir: string, rng: Rng): Promise<void> {
  const files: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of await readdir(join(dir, d.name))) files.push(join(d.name, f));
  }
  for (const f of files) {
    const p = join(dir, f);
    const r = rng.next();
    if (r < 0.15) await rm(p);
    else if (r < 0.25) await rename(p, `${p}.moved`);
    else if (r < 0.4) await writeFile(p, rng.bytes(rng.int(1, 65536)), { flag: 'a' });
    else if (r < 0.45) await chmod(p, 0o600);
  }
  const src = pool(rng, 4 << 20);
  for (let i = 0; i < rng.int(2, 6); i++) {
    await mkdir(join(dir, 'new'), { recursive: true });
    await writeFile(join(dir, 'new', `n${rng.int(0, 1e9)}.bin`), sliceOf(src, rng, rng.int(1, 8 << 20)));
  }
}
