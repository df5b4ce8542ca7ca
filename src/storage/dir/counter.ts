import { readFile } from 'node:fs/promises';
import { PermanentError } from '../../errors/index.js';
import { errnoCode, writeFileAtomic } from '../../util/fs.js';
import type { Layout } from './layout.js';
import { acquireLockWaiting } from './lock.js';

/** Serializes counter updates inside this process; the lock file covers other processes. */
const inProcess = new Map<string, Promise<unknown>>();

/** The next createtxg of this root: a per-root counter, so creation order is comparable across filesystems. */
export async function nextCreateTxg(layout: Layout): Promise<number> {
  const previous = inProcess.get(layout.counterFile) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => bump(layout));
  inProcess.set(layout.counterFile, run);
  try {
    return await run;
  } finally {
    if (inProcess.get(layout.counterFile) === run) inProcess.delete(layout.counterFile);
  }
}

async function bump(layout: Layout): Promise<number> {
  // '.counter' can never be a filesystem's lock: names do not start with '.'.
  const release = await acquireLockWaiting(`${layout.locksDir}/.counter`, `counter of ${layout.root}`, { leaseMs: layout.lockLeaseMs });
  try {
    let current = 0;
    try {
      const text = (await readFile(layout.counterFile, 'utf8')).trim();
      current = Number(text);
      if (!Number.isSafeInteger(current) || current < 0) {
        throw new PermanentError(`corrupt counter file ${layout.counterFile}: ${JSON.stringify(text)}`, { code: 'CORRUPT_METADATA' });
      }
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    const next = current + 1;
    await writeFileAtomic(layout.counterFile, `${next}\n`);
    return next;
  } finally {
    await release();
  }
}
