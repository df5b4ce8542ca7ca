import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the system temp dir, removed when the test `t` ends. */
export async function tempBase(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'ferry-test-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  return base;
}

/** Everything a stream yields, as one buffer. */
export async function collect(stream: AsyncIterable<Buffer | Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Every file under `dir` (path relative to it -> its text), read synchronously. */
export function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) Object.assign(out, tree(p, `${prefix}${e.name}/`));
    else out[`${prefix}${e.name}`] = readFileSync(p, 'utf8');
  }
  return out;
}

/** Describe a tree as path -> "type mode content", independently of the drivers' own code. */
export async function treeOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function visit(abs: string, rel: string): Promise<void> {
    for (const name of (await readdir(abs)).sort()) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(a);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `symlink -> ${await readlink(a)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        await visit(a, r);
      } else out[r] = `file ${mode} ${createHash('sha256').update(await readFile(a)).digest('hex')}`;
    }
  }
  await visit(dir, '');
  return out;
}

/** The dir/btrfs lock of `fs` under `root` is absent or its newest generation released (src/storage/dir/lock.ts). */
export async function lockIsFree(root: string, fs: string): Promise<boolean> {
  const dir = join(root, '.ferry', 'locks', fs);
  if (!existsSync(dir)) return true;
  const names = await readdir(dir);
  const top = Math.max(0, ...names.filter((n) => /^[0-9]+$/.test(n)).map(Number));
  return top === 0 || names.includes(`${top}.released`);
}
