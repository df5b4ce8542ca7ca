import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TemporaryError } from '../../errors/index.js';
import { errnoCode, randomHex, removeTree } from '../../util/fs.js';
import type { Layout } from './layout.js';

/**
 * Lock files name their holder as "<pid> <token>". The token tells this process's own locks from
 * those a crashed earlier process with the same pid left behind (pid 1 in containers, for instance).
 */
const PROCESS_TOKEN = randomHex(8);

function holderIsAlive(content: string): boolean {
  const [pidText, token] = content.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return token === PROCESS_TOKEN;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM'; // exists, owned by someone else
  }
}

export type Release = () => Promise<void>;

/**
 * Take the lock file at `path`, or throw TemporaryError (code BUSY) when a live process holds it.
 * A lock left by a dead process is taken over; `onStale` runs first so the caller can clear what
 * that process left half-done. The file appears complete or not at all: written aside, then link()ed,
 * which fails with EEXIST atomically.
 */
export async function acquireLock(path: string, what: string): Promise<Release> {
  await mkdir(dirname(path), { recursive: true });
  const aside = `${path}.${process.pid}.${randomHex(4)}`;
  await writeFile(aside, `${process.pid} ${PROCESS_TOKEN}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(aside, path);
        return async () => {
          await rm(path, { force: true });
        };
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      let content = '';
      try {
        content = await readFile(path, 'utf8');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue; // released meanwhile
        throw err;
      }
      if (holderIsAlive(content)) {
        throw new TemporaryError(`${what} is busy: held by pid ${content.trim().split(' ')[0]} (${path})`, {
          code: 'BUSY',
          details: { lock: path },
        });
      }
      await rm(path, { force: true }); // stale: its holder is gone
    }
    throw new TemporaryError(`${what} is busy: could not take ${path}`, { code: 'BUSY', details: { lock: path } });
  } finally {
    await rm(aside, { force: true });
  }
}

/** Like acquireLock, but waits a little for a live holder: for short critical sections. */
export async function acquireLockWaiting(path: string, what: string, timeoutMs = 5000): Promise<Release> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await acquireLock(path, what);
    } catch (err) {
      if (!(err instanceof TemporaryError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
}

/**
 * Take the lock of `fs` and clear its staging area: whoever staged there before us is gone
 * (a crashed snapshot or receive), since a live holder would still have the lock.
 */
export async function lockFilesystem(layout: Layout, fs: string): Promise<Release> {
  const release = await acquireLock(layout.lockFile(fs), `filesystem ${fs} of ${layout.root}`);
  try {
    await removeTree(layout.tmpDir(fs));
    await mkdir(layout.tmpDir(fs), { recursive: true });
    return release;
  } catch (err) {
    await release();
    throw err;
  }
}
