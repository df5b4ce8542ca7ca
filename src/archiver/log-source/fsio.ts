import { open, readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode, writeFileAtomic } from '../../util/fs.js';
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
  await writeFileAtomic(path, `${n}
`);
  await syncDir(dirname(path));
}

/** The names in `dir`, or none when it does not exist. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Number files are "<n>\n" (at most 17 digits for a safe integer): one read of this size gets them whole. */
const NUMBER_FILE_READ = 64;

/**
 * The number in `path`, or null when the file does not exist. Read with open + one read + close
 * (readFile would also fstat and read again to find the end: this runs several times per archived
 * entry); a file that fills the buffer is read whole, so a long corrupt file is still reported.
 */
export async function readNumberOrNull(path: string): Promise<number | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  let text: string;
  try {
    const buf = Buffer.allocUnsafe(NUMBER_FILE_READ);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    text = bytesRead < buf.length ? buf.toString('utf8', 0, bytesRead) : await readFile(path, 'utf8');
  } finally {
    await fh.close();
  }
  return parseNumberFile(text, path);
}
