import { link, mkdir, readFile, readdir, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TemporaryError } from '../../errors/index.js';
import { errnoCode, lstatOrNull, randomHex, removeTree } from '../../util/fs.js';
import type { Layout } from './layout.js';
import { settleReceives } from './commit.js';
import { readIndex, writeIndex } from './snapshot-index.js';
import { scanSnapshots } from './versions.js';
import { describeHolder, holderIsDead } from './holder.js';

/**
 * A lock shared by processes and containers that see the same directory: a lease, not a PID.
 *
 * The lock is a directory of generations. Generation `n` is the file `<n>`, created with O_EXCL by
 * the process that takes the lock; `<n>.released` marks it free. The holder is the creator of the
 * highest generation, as long as it is not released and its mtime (renewed by the holder every
 * quarter lease) is younger than the lease. Taking the lock, free or stale, is creating the next
 * generation: only one process can create a given name, so two processes that find the same dead
 * holder cannot both take over (the race of check, rm, create). A creator then checks it is the
 * highest generation (a slow process may re-create a generation that was cleared) and otherwise
 * backs off. Generations below the holder's are cleared by the holder.
 *
 * A holder stalled longer than its lease may have lost the lock: `assertHeld` tells, and callers
 * ask it just before the step they must not take without the lock. Clocks of the processes sharing
 * the directory must agree to well within a lease.
 *
 * A holder that provably died (same kernel boot and PID namespace, its PID gone or reused: see
 * holder.ts) is taken over at once, the same way; only processes that cannot see the holder's PIDs
 * (other containers, other hosts) wait out the lease.
 */

/** @defaultValue 30 s: a dead holder's lock is taken over after this (at once where its death is provable). */
export const DEFAULT_LOCK_LEASE_MS = 30_000;

export interface LockOptions {
  /** how long a holder that stopped renewing keeps the lock, in milliseconds */
  leaseMs?: number;
}

export interface Lease {
  /** Frees the lock (nothing when it was lost meanwhile). */
  release(): Promise<void>;
  /** Throws TemporaryError LOCK_LOST unless the lock is still ours with most of a lease ahead. */
  assertHeld(): Promise<void>;
}

export type Release = () => Promise<void>;

interface Generations {
  top: number;
  released: boolean;
  all: string[];
}

const RELEASED = '.released';
/** a holder's description before it becomes a generation: `<generation>.<token>.aside` */
const ASIDE = '.aside';

async function readGenerations(dir: string): Promise<Generations> {
  const all = await readdir(dir);
  let top = 0;
  const released = new Set<number>();
  for (const name of all) {
    if (/^[0-9]+$/.test(name)) top = Math.max(top, Number(name));
    else if (name.endsWith(RELEASED) && /^[0-9]+$/.test(name.slice(0, -RELEASED.length))) released.add(Number(name.slice(0, -RELEASED.length)));
  }
  return { top, released: top === 0 || released.has(top), all };
}

const busy = (what: string, dir: string, why: string) =>
  new TemporaryError(`${what} is busy: ${why} (${dir})`, { code: 'BUSY', details: { lock: dir } });

/** A plain file where the lock directory goes: a lock of an earlier ferry, gone once older than a lease. */
async function clearLegacyLockFile(dir: string, leaseMs: number, what: string): Promise<void> {
  const st = await lstatOrNull(dir);
  if (!st || st.isDirectory()) return;
  if (Date.now() - st.mtimeMs <= leaseMs) throw busy(what, dir, 'held by an earlier version of ferry');
  await unlink(dir).catch((err) => (['ENOENT', 'EISDIR', 'EPERM'].includes(errnoCode(err) ?? '') ? undefined : Promise.reject(err)));
}

/** Take the lock at `dir`, or throw TemporaryError BUSY while another process holds it. */
export async function acquireLease(dir: string, what: string, opts: LockOptions = {}): Promise<Lease> {
  const leaseMs = opts.leaseMs ?? DEFAULT_LOCK_LEASE_MS;
  await clearLegacyLockFile(dir, leaseMs, what);
  await mkdir(dir, { recursive: true });
  const seen = await readGenerations(dir);
  if (!seen.released) {
    const st = await stat(join(dir, String(seen.top))).catch((err) => (errnoCode(err) === 'ENOENT' ? null : Promise.reject(err)));
    if (!st) throw busy(what, dir, 'changing hands');
    if (Date.now() - st.mtimeMs <= leaseMs && !(await holderIsDead(await readFile(join(dir, String(seen.top)), 'utf8').catch(() => '')))) {
      throw busy(what, dir, `held (generation ${seen.top}, renewed ${new Date(st.mtimeMs).toISOString()})`);
    }
  }
  const gen = seen.top + 1;
  const mine = join(dir, String(gen));
  const startedAt = Date.now();
  // the generation appears with its holder's description in it (written aside, then linked: link
  // fails on an existing name as O_EXCL does). A holder killed between an O_EXCL create and its
  // write left an empty generation, whose death nobody could prove: the lease had to run out.
  const token = randomHex(8);
  const aside = join(dir, `${gen}.${token}${ASIDE}`);
  await writeFile(aside, `${JSON.stringify(await describeHolder(token, new Date(startedAt)))}\n`);
  try {
    await link(aside, mine);
  } catch (err) {
    // ENOENT: a newer holder cleared this description as stale (this taker was that slow)
    if (errnoCode(err) === 'EEXIST' || errnoCode(err) === 'ENOENT') throw busy(what, dir, 'taken by another process just now');
    throw err;
  } finally {
    await rm(aside, { force: true });
  }
  const after = await readGenerations(dir);
  if (after.top !== gen) {
    await rm(mine, { force: true });
    throw busy(what, dir, 'taken by another process just now');
  }
  for (const name of after.all) {
    // a description written aside by a process killed before it linked it: named after its generation
    const n = Number(name.endsWith(RELEASED) ? name.slice(0, -RELEASED.length) : name.endsWith(ASIDE) ? name.slice(0, name.indexOf('.')) : name);
    if (Number.isInteger(n) && n < gen) await rm(join(dir, name), { force: true });
  }
  return holdLease(dir, gen, leaseMs, startedAt, what);
}

function holdLease(dir: string, gen: number, leaseMs: number, startedAt: number, what: string): Lease {
  const mine = join(dir, String(gen));
  let renewedAt = startedAt;
  let lost = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    if (lost) return;
    const at = Date.now();
    try {
      await utimes(mine, new Date(at), new Date(at));
      if ((await readGenerations(dir)).top !== gen) lost = true;
      else renewedAt = at;
    } catch {
      lost = true; // cleared by a new holder
    }
  };
  const timer = setInterval(() => (renewing = renewing.then(renew)), Math.max(1, Math.floor(leaseMs / 4)));
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await renewing;
      if (!lost) await writeFile(join(dir, `${gen}${RELEASED}`), '', { flag: 'w' });
      lost = true;
    },
    async assertHeld() {
      await (renewing = renewing.then(renew));
      // a quarter lease to spare: whoever judged us stale did so after our last renewal plus a lease
      if (lost || Date.now() - renewedAt > (leaseMs * 3) / 4) {
        throw new TemporaryError(`${what}: lock lost (not renewed within its lease of ${leaseMs} ms) (${dir})`, { code: 'LOCK_LOST', details: { lock: dir } });
      }
    },
  };
}

/** acquireLease, as a release function, for callers that do not need assertHeld. */
export async function acquireLock(dir: string, what: string, opts: LockOptions = {}): Promise<Release> {
  const lease = await acquireLease(dir, what, opts);
  return () => lease.release();
}

/** Like acquireLock, but waits a little for a live holder: for short critical sections. */
export async function acquireLockWaiting(dir: string, what: string, opts: LockOptions & { timeoutMs?: number } = {}): Promise<Release> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    try {
      return await acquireLock(dir, what, opts);
    } catch (err) {
      if (!(err instanceof TemporaryError) || err.code !== 'BUSY' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
}

/**
 * Take the lock of `fs`, clear its staging area (whoever staged there before us is gone: a live
 * holder would still have the lock), settle a receive a crash cut short at its commit and rebuild
 * the index of `fs` if it is missing or disagrees (snapshot-index.ts). The
 * release removes the emptied staging directory again.
 */
export async function lockFilesystem(layout: Layout, fs: string): Promise<Lease> {
  const lease = await acquireLease(layout.lockFile(fs), `filesystem ${fs} of ${layout.root}`, { leaseMs: layout.lockLeaseMs });
  const release = async () => {
    await removeTree(layout.tmpDir(fs)).catch(() => undefined);
    await lease.release();
  };
  try {
    await removeTree(layout.tmpDir(fs));
    await mkdir(layout.tmpDir(fs), { recursive: true });
    // An index that agrees with the snapshot directories was written after the last receive's
    // commit: nothing to settle. Without one, settle what a crash left, then index the result.
    if ((await readIndex(layout, fs)) === null) {
      await settleReceives(layout, fs);
      await writeIndex(layout, fs, (await scanSnapshots(layout, fs)).map((s) => s.version));
    }
    return { release, assertHeld: () => lease.assertHeld() };
  } catch (err) {
    await release();
    throw err;
  }
}
