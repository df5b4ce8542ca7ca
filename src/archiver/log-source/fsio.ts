import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errnoCode, randomHex } from '../../storage/dir/fsutil.js';
import { parseNumberFile } from './names.js';

/** Runs `fn` after every earlier call with the same key has settled (one writer per file in this process). */
const chains = new Map<string, Promise<unknown>>();
export async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.then(() => undefined, () => undefined);
  chains.set(key, tail);
  try {
    return await run;
  } finally {
    if (chains.get(key) === tail) chains.delete(key);
  }
}

/** fsync a directory so a rename in it is durable; some filesystems refuse, which is not an error here. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}

/** Write "<n>\n" to a hidden temp file beside `path`, fsync, rename over `path`: readers see old or new, never torn. */
export async function writeNumberAtomic(path: string, n: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${randomHex(6)}`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(`${n}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** The number in `path`, or null when the file does not exist. */
export async function readNumberOrNull(path: string): Promise<number | null> {
  try {
    return parseNumberFile(await readFile(path, 'utf8'), path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}
