import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { TemporaryError } from '../../src/errors/index.js';
import { findExecutable } from '../../src/storage/executables.js';
import { imagesDir } from './images-dir.js';
import { runProcess, type ProcessResult } from './processes.js';
import { noise } from './noise.js';

/**
 * Real zfs for tests: zfs-fuse (Debian) or kernel OpenZFS. Starts the zfs-fuse daemon when none
 * runs (and stops only that one), creates file-backed pools of 512 MiB with unique names, and
 * destroys them and their files at the end, also after failures.
 */

function which(name: string): string | null {
  return findExecutable(name, [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin']);
}

/** Why zfs tests cannot run here, or null when they can. In CI (CI=true) a missing zfs fails instead. */
export function zfsUnavailable(): string | null {
  const missing = ['zfs', 'zpool'].filter((b) => !which(b));
  let reason: string | null = null;
  if (missing.length) reason = `${missing.join(' and ')} not installed (apt-get install zfs-fuse)`;
  else if (!existsSync('/dev/zfs') && !which('zfs-fuse')) reason = 'neither kernel zfs (/dev/zfs) nor zfs-fuse is available';
  else if (!existsSync('/dev/zfs') && !existsSync('/dev/fuse')) reason = 'zfs-fuse needs /dev/fuse';
  if (reason && process.env.CI === 'true') throw new Error(`zfs tests cannot run in CI: ${reason}`);
  return reason;
}

export type Run = ProcessResult;

/** Runs a command without a shell; never rejects for a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return runProcess(which(cmd) ?? cmd, args, { cwd: process.cwd(), timeoutMs });
}

/** Runs a command; rejects with its stderr when it fails. */
export async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function zfsFuseRunning(): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'zfs-fuse') return true;
    } catch {
      // gone
    }
  }
  return false;
}

export interface TestPool {
  name: string;
  file: string;
  mountpoint: string;
}

let poolSeq = 0;

/** One test file's zfs: a daemon (if it had to start one) and the pools it created. */
export class ZfsLab {
  readonly dir = mkdtempSync(join(imagesDir(), 'ferry-zfs-'));
  readonly pools: TestPool[] = [];
  private daemon: ChildProcess | null = null;
  private verifySeq = 0;

  /** A started lab with two pools (a sender's and a receiver's); stops the lab again if that fails. */
  static async twoPools(sizeMiB = 512): Promise<{ lab: ZfsLab; p1: TestPool; p2: TestPool }> {
    const lab = new ZfsLab();
    try {
      await lab.start();
      return { lab, p1: await lab.createPool(sizeMiB), p2: await lab.createPool(sizeMiB) };
    } catch (e) {
      await lab.stop().catch(() => {});
      throw e;
    }
  }

  /** Makes sure zfs answers: starts `zfs-fuse` when it is the zfs here and none runs. */
  async start(): Promise<void> {
    if (!existsSync('/dev/zfs') && !zfsFuseRunning()) {
      this.daemon = spawn(which('zfs-fuse')!, ['--no-daemon', '--no-kstat-mount'], { stdio: 'ignore' });
      this.daemon.once('exit', () => (this.daemon = null));
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await run('zpool', ['list', '-H', '-o', 'name']);
      if (r.code === 0) return;
      if (Date.now() > deadline) throw new Error(`zfs did not answer within 30 s: ${r.stderr.trim()}`);
      await sleep(200);
    }
  }

  /** A pool on a sparse file (512 MiB unless told), mounted under the lab's temp dir. */
  async createPool(sizeMiB = 512): Promise<TestPool> {
    const name = `ferrytest${process.pid}${++poolSeq}`;
    const file = join(this.dir, `${name}.img`);
    const mountpoint = join(this.dir, 'mnt', name);
    writeFileSync(file, '');
    truncateSync(file, sizeMiB * 1024 * 1024);
    mkdirSync(dirname(mountpoint), { recursive: true });
    await must('zpool', ['create', '-o', 'cachefile=none', '-m', mountpoint, name, file]);
    const pool = { name, file, mountpoint };
    this.pools.push(pool);
    return pool;
  }

  zfs(args: string[]): Promise<string> {
    return must('zfs', args);
  }

  private treeSeq = 0;

  /**
   * A sender root `<from>/<tag>N` with filesystems a, a/b and c holding some files (`big` random
   * bytes in a), and the name of a receiver root `<to>/<tag>N` that does not exist yet.
   */
  async sampleTree(from: TestPool, to: TestPool, tag: string, big = 1024 * 1024): Promise<{ sroot: string; rroot: string }> {
    const n = ++this.treeSeq;
    const sroot = `${from.name}/${tag}${n}`;
    const rroot = `${to.name}/${tag}${n}`;
    for (const fs of ['', '/a', '/a/b', '/c']) await this.zfs(['create', `${sroot}${fs}`]);
    await this.write(`${sroot}/a`, { 'one.txt': 'one\n', 'sub/big.bin': noise(big) });
    await this.write(`${sroot}/a/b`, { 'b.txt': 'b\n'.repeat(1000) });
    await this.write(`${sroot}/c`, { 'c.txt': 'c\n' });
    return { sroot, rroot };
  }

  async mountpoint(dataset: string): Promise<string> {
    return (await this.zfs(['get', '-H', '-o', 'value', 'mountpoint', dataset])).trim();
  }

  /** Writes files (path relative to the dataset's mountpoint -> content) into a mounted dataset. */
  async write(dataset: string, files: Record<string, string | Buffer>): Promise<void> {
    const mp = await this.mountpoint(dataset);
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(mp, rel)), { recursive: true });
      writeFileSync(join(mp, rel), content);
    }
  }

  /**
   * The files of a snapshot, read through a temporary clone (zfs-fuse has no .zfs directory, and
   * mounting a received dataset itself marks it modified for the next incremental receive).
   */
  async snapshotFiles(snapshot: string): Promise<Record<string, string>> {
    const pool = snapshot.split('/')[0];
    const n = ++this.verifySeq;
    const clone = `${pool}/ferryverify${n}`;
    const mnt = join(this.dir, 'verify', String(n));
    await this.zfs(['clone', '-o', `mountpoint=${mnt}`, snapshot, clone]);
    try {
      return tree(mnt);
    } finally {
      await this.destroy(clone);
    }
  }

  /** `zfs destroy` (no -r), retried while busy. */
  async destroy(dataset: string): Promise<void> {
    for (let i = 0; ; i++) {
      const r = await run('zfs', ['destroy', dataset]);
      if (r.code === 0 || /does not exist/.test(r.stderr)) return;
      if (i > 50) throw new Error(`zfs destroy ${dataset}: ${r.stderr.trim()}`);
      await sleep(200);
    }
  }

  /** Every dataset and snapshot below `dataset` (inclusive), sorted; [] if it does not exist. */
  async listAll(dataset: string): Promise<string[]> {
    // not bookmarks (OpenZFS replication cursors: '#'), which ferry leaves on senders
    const r = await run('zfs', ['list', '-H', '-r', '-t', 'filesystem,volume,snapshot', '-o', 'name', dataset]);
    if (r.code !== 0) return [];
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  /** name -> guid of every snapshot below `dataset`. */
  async guids(dataset: string): Promise<Record<string, string>> {
    const snaps = (await this.listAll(dataset)).filter((n) => n.includes('@'));
    if (!snaps.length) return {};
    const out = await this.zfs(['get', '-H', '-p', '-o', 'name,value', 'guid', ...snaps]);
    return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
  }

  /** Destroys the pools, removes their files, stops the daemon if this lab started it. */
  async stop(): Promise<void> {
    const errors: string[] = [];
    for (const pool of this.pools.splice(0).reverse()) {
      for (let i = 0; ; i++) {
        const r = await run('zpool', ['destroy', '-f', pool.name]);
        if (r.code === 0 || /no such pool/.test(r.stderr)) break;
        if (i > 25) {
          errors.push(`zpool destroy ${pool.name}: ${r.stderr.trim()}`);
          break;
        }
        await sleep(200);
      }
    }
    if (this.daemon) {
      const daemon = this.daemon;
      const exited = new Promise<void>((r) => daemon.once('exit', () => r()));
      daemon.kill('SIGTERM');
      const t = setTimeout(() => daemon.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
    // a pool that could not be destroyed may still be mounted below dir: leave its files then
    if (!errors.length) rmSync(this.dir, { recursive: true, force: true });
    if (errors.length) throw new Error(errors.join('; '));
  }
}

/** path -> sha256 of every file below dir. */
export function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) Object.assign(out, tree(p, `${prefix}${e.name}/`));
    else out[`${prefix}${e.name}`] = createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

export async function retryWhileBusy<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof TemporaryError && (e as TemporaryError).code === 'BUSY') || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Passes `limit` bytes through, then calls `cut` (destroy, abort) and passes nothing more. */
export function cutAfter(limit: number, cut: (t: Transform) => void): Transform {
  let seen = 0;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      if (done) return next();
      if (seen + chunk.length >= limit) {
        done = true;
        this.push(chunk.subarray(0, Math.max(0, limit - seen)));
        next();
        setImmediate(() => cut(this));
        return;
      }
      seen += chunk.length;
      next(null, chunk);
    },
  });
}
