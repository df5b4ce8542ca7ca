import { spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runProcess } from './processes.js';

/**
 * Kernel OpenZFS for the tests of what zfs-fuse lacks (resumable receive, dry-run sizes, atomic
 * snapshots of several datasets): a Debian VM built by scripts/openzfs-vm/build.sh, booted with
 * qemu (software emulation unless FERRY_OPENZFS_VM_ACCEL=kvm), this repository shared read-only at
 * the same path. The guest has its own Node 24 (whatever the host runs), with V8's compile cache.
 * It runs a shell command from the repository and powers off; its output and exit status come
 * back through a shared temp folder.
 */

export const VM_DIR = process.env.FERRY_OPENZFS_VM ?? '/var/cache/ferry/openzfs-vm';
const RECIPE_FILE = 'scripts/openzfs-vm/build.sh';

function qemuBinary(): string | null {
  for (const p of ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64']) if (existsSync(p)) return p;
  return null;
}

/**
 * KVM only when asked (FERRY_OPENZFS_VM_ACCEL=kvm) and /dev/kvm is usable: on the machines this
 * was built on, /dev/kvm exists but a nested guest kernel hangs right after the BIOS, while
 * software emulation (TCG) boots in seconds and gives the same results, only slower.
 */
function canUseKvm(): boolean {
  if (process.env.FERRY_OPENZFS_VM_ACCEL !== 'kvm') return false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The recipe number the build script writes into `ready`. */
function recipe(repo: string): string {
  return /^RECIPE=(\d+)/m.exec(readFileSync(join(repo, RECIPE_FILE), 'utf8'))?.[1] ?? '?';
}

/** Why the VM cannot run here, or null. In CI (CI=true) a missing VM is an error, not a skip. */
export function openZfsVmUnavailable(repo: string): string | null {
  let reason: string | null = null;
  const ready = join(VM_DIR, 'ready');
  if (!qemuBinary()) reason = 'qemu-system-x86_64 is not installed (npm run setup -- --test installs it)';
  else if (!existsSync(ready)) reason = `no OpenZFS VM image in ${VM_DIR} (build it with: sudo bash ${RECIPE_FILE})`;
  else if (readFileSync(ready, 'utf8').trim() !== recipe(repo)) reason = `the OpenZFS VM image in ${VM_DIR} is of an older recipe (rebuild: sudo bash ${RECIPE_FILE})`;
  if (reason && process.env.CI === 'true') throw new Error(`the OpenZFS tests cannot run in CI: ${reason}`);
  return reason;
}

export interface VmRun {
  /** exit status of the command in the guest; null when the guest never wrote one (crash, timeout) */
  exit: number | null;
  /** what the command printed (stdout and stderr) */
  log: string;
  /** the guest's console: kernel messages and anything the init printed */
  console: string;
  /** whether the VM ran with KVM */
  kvm: boolean;
}

/** Where the guest finds the tree given as `build` (compiled by compileForVm). */
export const GUEST_BUILD = '/ferry-out/build';

/**
 * Boots the VM, runs `script` (sh, in the repository) as root in it, and resolves once the guest
 * powered off or `timeoutMs` passed (qemu is then killed). Everything it wrote is discarded.
 * Each call boots a VM of its own (the image is booted with -snapshot), so several may run at once.
 */
export async function runInOpenZfsVm(
  repo: string, script: string,
  opts: {
    timeoutMs?: number;
    memoryMiB?: number;
    /**
     * A tree compiled by compileForVm, shared read-only at GUEST_BUILD: under software emulation
     * `ferry worker` takes 40 to 56 s to start through tsx, about 25 s compiled.
     */
    build?: string;
  } = {},
): Promise<VmRun> {
  const qemu = qemuBinary();
  if (!qemu) throw new Error('qemu-system-x86_64 is not installed');
  const repoPath = realpathSync(repo);
  const out = mkdtempSync(join(tmpdir(), 'ferry-openzfs-vm-'));
  try {
    writeFileSync(join(out, 'command.sh'), script);
    copyFileSync(join(repoPath, 'scripts/openzfs-vm/guest-init.sh'), join(out, 'guest-init.sh'));
    const consoleFile = join(out, 'console.log');
    const kvm = canUseKvm();
    const shares = [
      '-virtfs', `local,path=${repoPath},mount_tag=ferry-repo,security_model=none,readonly=on`,
      '-virtfs', `local,path=${out},mount_tag=ferry-out,security_model=none`,
    ];
    // mitigations=off: a throwaway guest running only the tests. Under emulation the guest's defences
    // against CPU side channels cost the most: page-table isolation (an emulated TLB flushed at
    // every system call, the emulated CPU having no PCID), buffer clearing at every return to user
    // space, retpolines
    const append = ['root=/dev/vda', 'rw', 'console=ttyS0', 'init=/sbin/ferry-init', 'panic=-1', 'mitigations=off', `ferry.repo=${repoPath}`];
    if (opts.build) {
      // read-only too, so the guest may cache it (guest-init.sh mounts it on /ferry-out/build)
      mkdirSync(join(out, 'build'));
      shares.push('-virtfs', `local,path=${realpathSync(opts.build)},mount_tag=ferry-build,security_model=none,readonly=on`);
      append.push('ferry.build=1');
    }
    const modules = join(repoPath, 'node_modules');
    const modulesPath = existsSync(modules) ? realpathSync(modules) : modules;
    if (relative(repoPath, modulesPath).startsWith('..')) {
      shares.push('-virtfs', `local,path=${modulesPath},mount_tag=ferry-modules,security_model=none,readonly=on`);
      append.push(`ferry.modules=${modulesPath}`);
    }
    const args = [
      // one emulated CPU: with two, node (V8 writes machine code on one thread and runs it on
      // another) now and then died of SIGSEGV under qemu 7.2's multi-threaded emulation
      ...(kvm ? ['-accel', 'kvm', '-cpu', 'host,-arch-capabilities', '-smp', '2'] : ['-accel', 'tcg', '-cpu', 'Nehalem', '-smp', '1']),
      '-m', String(opts.memoryMiB ?? 4096),
      '-nographic', '-nodefaults', '-no-reboot', '-nic', 'none',
      '-serial', `file:${consoleFile}`,
      '-kernel', join(VM_DIR, 'vmlinuz'), '-initrd', join(VM_DIR, 'initrd.img'),
      '-append', append.join(' '),
      // writes at 64 MiB/s: with zfs' dirty data capped (guest-init.sh) a receive of a few hundred
      // MiB takes seconds, as on a real disk, so tests can interrupt one halfway
      '-drive', `file=${join(VM_DIR, 'rootfs.img')},if=virtio,format=raw,snapshot=on,throttling.bps-write=${64 * 1024 * 1024}`,
      ...shares,
    ];
    const child = spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (stderr.length < 20_000) stderr += d;
    });
    const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    }).finally(() => clearTimeout(timer));
    const read = (f: string) => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : '');
    const exitText = read('exit').trim();
    const console = read('console.log') + (stderr ? `\n[qemu stderr]\n${stderr}` : '') +
      (timedOut ? `\n[killed after ${timeoutMs} ms]` : code !== 0 ? `\n[qemu exit ${code}]` : '');
    return { exit: /^\d+$/.test(exitText) ? Number(exitText) : null, log: read('log'), console, kvm };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * scripts/build.mjs --tests into `dir` (for `build`); its output becomes the error if it fails.
 * Types stripped by esbuild, not checked: the suite's own type check runs beside the VM, and a tsc
 * build took the VM's start 1 to 3 minutes on a busy 2-CPU host.
 */
export async function compileForVm(repo: string, dir: string): Promise<void> {
  const r = await runProcess(process.execPath, [join(repo, 'scripts/build.mjs'), '--tests', '--transpile-only', '--out', dir], { cwd: repo });
  if (r.code !== 0) throw new Error(`compiling the repository for the VM failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
}

/** The totals of node's test runner summary (`# tests 12`, `# pass 12`, ...) in `log`. */
export function testSummary(log: string): Record<'tests' | 'pass' | 'fail' | 'skipped' | 'todo' | 'cancelled', number> {
  const get = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(log)?.[1] ?? NaN);
  return { tests: get('tests'), pass: get('pass'), fail: get('fail'), skipped: get('skipped'), todo: get('todo'), cancelled: get('cancelled') };
}
