import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, ftruncateSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { findExecutable } from '../../src/storage/executables.js';
import { imagesDir } from './images-dir.js';
import { formatArgs } from '../../src/storage/btrfs/protocol.js';

/**
 * Real btrfs filesystems for tests: a sparse image file, mkfs.btrfs, mount -o loop on a temp
 * mountpoint. Needs root, btrfs-progs, util-linux and the btrfs module. Everything is unmounted,
 * detached and removed by cleanup(), by the test's `after`, and as a last resort on process exit.
 */

const TOOLS = ['btrfs', 'mkfs.btrfs', 'mount', 'umount', 'losetup'];
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

function which(program: string): string | null {
  return findExecutable(program, [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS]);
}

/** Why btrfs tests cannot run here, or null when they can. */
export function btrfsUnavailable(): string | null {
  if (process.platform !== 'linux') return `btrfs needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'btrfs tests need root (mkfs.btrfs, mount -o loop, btrfs send/receive)';
  const missing = TOOLS.filter((t) => which(t) === null);
  if (missing.length > 0) return `missing tools: ${missing.join(', ')} (install btrfs-progs and util-linux)`;
  if (!existsSync('/dev/loop-control')) return 'no loop devices (/dev/loop-control is missing)';
  let filesystems = '';
  try {
    filesystems = readFileSync('/proc/filesystems', 'utf8');
  } catch {
    // unknown: try anyway
  }
  if (filesystems && !/\bbtrfs\b/.test(filesystems)) {
    spawnSync(which('modprobe') ?? 'modprobe', ['btrfs'], { stdio: 'ignore' });
    if (!/\bbtrfs\b/.test(readFileSync('/proc/filesystems', 'utf8'))) return 'the kernel has no btrfs (not in /proc/filesystems, modprobe btrfs failed)';
  }
  return null;
}

/**
 * For `describe(..., { skip })`: the reason to skip, or false to run. With CI=true nothing is
 * skipped: `failure` says why the tests must fail instead.
 */
export function btrfsGate(): { skip: string | false; failure: string | null } {
  const reason = btrfsUnavailable();
  if (reason === null) return { skip: false, failure: null };
  if (process.env.CI === 'true') return { skip: false, failure: `btrfs tests cannot run but CI=true: ${reason}` };
  return { skip: `btrfs unavailable: ${reason}`, failure: null };
}

/** Run a tool (not through the driver), return stdout; throws with its stderr. */
export function sh(program: string, args: string[], input?: Buffer): string {
  const r = spawnSync(which(program) ?? program, args, { input, encoding: 'buffer', maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** Like sh but returns the exit status and stderr instead of throwing. */
export function shStatus(program: string, args: string[], input?: Buffer): { status: number | null; stderr: string } {
  const r = spawnSync(which(program) ?? program, args, { input, encoding: 'buffer', maxBuffer: 1 << 30 });
  return { status: r.status, stderr: r.stderr?.toString() ?? String(r.error) };
}

export interface BtrfsMount {
  /** the mountpoint: a fresh btrfs filesystem */
  dir: string;
  image: string;
  cleanup(): void;
}

const live = new Set<BtrfsMount>();
let exitHook = false;

function isMounted(dir: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A new btrfs on a sparse image file (mkfs.btrfs wants >= ~109 MiB), mounted on a temp dir. */
export function mountBtrfsImage(tag: string, sizeMiB = 320): BtrfsMount {
  const base = mkdtempSync(join(imagesDir(), `ferry-btrfs-${tag}-`));
  const image = join(base, 'disk.img');
  const dir = join(base, 'mnt');
  let cleaned = false;
  const m: BtrfsMount = {
    dir,
    image,
    cleanup() {
      if (cleaned) return;
      const problems: string[] = [];
      for (let attempt = 0; isMounted(dir) && attempt < 20; attempt++) {
        const r = shStatus('umount', [dir]);
        if (r.status !== 0) {
          if (attempt === 19) problems.push(r.stderr.trim());
          sleepSync(100);
        }
      }
      if (isMounted(dir)) shStatus('umount', ['-l', dir]);
      // a loop device can outlive the mount (autoclear races): detach what still backs the image
      try {
        for (const line of sh('losetup', ['-j', image]).split('\n')) {
          const dev = /^(\/dev\/loop\d+):/.exec(line)?.[1];
          if (dev) shStatus('losetup', ['-d', dev]);
        }
      } catch (err) {
        problems.push(String(err));
      }
      if (!isMounted(dir)) rmSync(base, { recursive: true, force: true });
      else problems.push(`${dir} is still mounted`);
      cleaned = true;
      live.delete(m);
      if (problems.length > 0) process.emitWarning(`btrfs test cleanup of ${base}: ${problems.join('; ')}`);
    },
  };
  live.add(m);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const left of [...live]) left.cleanup();
    });
  }
  try {
    const fd = openSync(image, 'w');
    try {
      ftruncateSync(fd, sizeMiB * 1024 * 1024);
    } finally {
      closeSync(fd);
    }
    sh('mkfs.btrfs', ['-q', '-f', image]);
    mkdirSync(dir);
    sh('mount', ['-o', 'loop', image, dir]);
    return m;
  } catch (err) {
    m.cleanup();
    throw err;
  }
}

/** `btrfs subvolume create <path>` (mkdir -p of its parent first). */
export function createSubvolume(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync(which('btrfs')!, ['-q', 'subvolume', 'create', path], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Fields of `btrfs subvolume show` that the tests look at. */
export function subvolumeFields(path: string): { uuid: string; receivedUuid: string; readonly: boolean; cgen: number } {
  const out = sh('btrfs', ['subvolume', 'show', path]);
  const get = (key: string) => new RegExp(`^\\s+${key}:\\s*(.*?)\\s*$`, 'm').exec(out)?.[1] ?? '';
  return { uuid: get('UUID'), receivedUuid: get('Received UUID'), readonly: /readonly/.test(get('Flags')), cgen: Number(get('Gen at creation')) };
}

/**
 * The length of the stream `btrfs send` makes for snapshots `names` of `fs` under `root` (ferry's
 * layout), with `protocol` (src/storage/btrfs/protocol.ts): from `from` (`-p`; `-c` for several, as
 * a batch) or full; `compressed`: with --compressed-data. What a step's byte count must equal.
 */
export function sendLength(root: string, fs: string, from: string | null, names: string[], protocol: number, compressed = false): number {
  const snap = (name: string) => `${root}/.ferry/snapshots/${fs}/${name}`;
  const base = from === null ? [] : [names.length > 1 ? '-c' : '-p', snap(from)];
  const r = spawnSync(which('btrfs') ?? 'btrfs', ['-q', 'send', ...formatArgs({ protocol, compressed }), ...base, ...names.map(snap)], { maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`btrfs send of ${names.join(', ')} failed (${r.status ?? r.signal}): ${r.stderr.toString().trim()}`);
  return r.stdout.length;
}
