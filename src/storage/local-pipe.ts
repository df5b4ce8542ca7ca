import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { TemporaryError } from '../errors/index.js';
import { findExecutable } from './executables.js';
import { parentDeathGuard } from './shell.js';

/**
 * zfs-fuse's local fast path (StorageDriver.transferTo): `send | relay | receive` joined by Node's pipes,
 * the bytes never pass through JavaScript. The relay sits in the middle only to count, because the
 * send/receive client processes may do no I/O themselves (zfs-fuse: its daemon reads and writes the
 * pipes, so /proc/<pid>/io of `zfs send|receive` tells nothing; btrfs send and OpenZFS's zfs send
 * write their streams themselves and need no relay: shell-pipe.ts). It is `pv -n -b` when installed:
 * pv moves the bytes with splice(2), without copying them through itself, and prints the count
 * twice a second and at the end; else `dd bs=1M status=progress` (coreutils), which copies every
 * byte through its buffer (on a 2-CPU machine about a fifth more CPU than the pipe alone) and
 * prints once a second and at the end. FERRY_RELAY=dd picks dd.
 */

let transfers = 0;

/** How many steps this process replicated through the local fast path (tests, diagnostics). */
export function localTransferCount(): number {
  return transfers;
}

export function countLocalTransfer(): void {
  transfers++;
}

let relays = 0;

/** How many relays this process started (tests: which way a local step went). */
export function relayCount(): number {
  return relays;
}

/** probed once per process: undefined before, null when missing */
let ddPath: string | null | undefined;
let pvPath: string | null | undefined;

interface RelayTool {
  path: string;
  args: string[];
  /** the newest exact count in what the tool printed on stderr so far (the last 4 KiB) */
  count(stderr: string): number | null;
}

/** The relay: pv, else dd from coreutils, or null when there is neither (the driver then uses the stream path). */
export function findRelay(): RelayTool | null {
  if (process.env.FERRY_RELAY !== 'dd') {
    if (pvPath === undefined) pvPath = findExecutable('pv', ['/usr/bin', '/bin', '/usr/local/bin']);
    if (pvPath) return { path: pvPath, args: ['-n', '-b', '-i', '0.5'], count: (text) => lastMatch(text, /^(\d+)$/gm) };
  }
  if (ddPath === undefined) ddPath = findExecutable('dd', ['/usr/bin', '/bin', '/usr/local/bin']);
  if (ddPath) return { path: ddPath, args: ['bs=1M', 'status=progress'], count: (text) => lastMatch(text, /(\d+) bytes/g) };
  return null;
}

function lastMatch(text: string, re: RegExp): number | null {
  const all = [...text.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : null;
}

export interface Relay {
  child: ChildProcess;
  /** the relay's stdout: give it to the receiving process as its stdin, then call release() */
  stdout: Readable;
  /** drop this process's own handles on the pipes (after both neighbours are spawned) */
  release(): void;
  /** the newest exact byte count the relay printed */
  bytes(): number;
  /** resolves with the bytes copied when the relay exited 0; rejects with a TemporaryError otherwise */
  done: Promise<number>;
  kill(): void;
}

/** The relay (pv or dd: findRelay) reading `source` (a child's stdout). */
export function startRelay(source: Readable): Relay {
  const tool = findRelay();
  if (!tool) throw new TemporaryError('neither pv nor dd found', { code: 'TOOL_NOT_FOUND' });
  const name = tool.path.slice(tool.path.lastIndexOf('/') + 1);
  relays++;
  // a dying ferry takes the relay along, which breaks both pipes (as the stream path does)
  const [bin, ...args] = [...parentDeathGuard(), tool.path, ...tool.args];
  const child = spawn(bin, args, { stdio: [source, 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
  let count = 0;
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4096);
    count = Math.max(count, tool.count(stderr) ?? 0);
  });
  child.stdout!.on('error', () => undefined);
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), 2000);
    killTimer.unref();
  };
  const done = new Promise<number>((resolve, reject) => {
    child.once('error', (err) => {
      if (child.pid === undefined) reject(new TemporaryError(`cannot run ${name}: ${err.message}`, { code: 'SPAWN_FAILED', cause: err }));
    });
    child.once('close', (code, sig) => {
      clearTimeout(killTimer);
      if (code === 0) resolve(count);
      else reject(new TemporaryError(`${name} (the byte counter between send and receive) failed (${sig ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`, { code: 'RELAY_FAILED' }));
    });
  });
  done.catch(() => undefined);
  return {
    child,
    stdout: child.stdout!,
    release: () => {
      source.destroy();
      child.stdout!.destroy();
    },
    bytes: () => Math.max(count, polled(child.pid)),
    done,
    kill,
  };
}

/** what a process read besides the stream (loader reading ELF headers): kept out of the live figure */
const OTHER_READS = 64 * 1024;

/** Live bytes between the relay's lines: rchar of /proc/<pid>/io (Linux; dd's reads, not pv's splices), 0 where unavailable. */
function polled(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /^rchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Math.max(0, Number(m[1]) - OTHER_READS) : 0;
  } catch {
    return 0;
  }
}

export type Stage = 'send' | 'relay' | 'receive';

export interface StageProcess {
  /** resolves on success, rejects with the typed error */
  done: Promise<unknown>;
  kill(): void;
}

export interface PipelineOutcome {
  /** the stage that failed first by itself (not stopped by us), or null */
  first: Stage | null;
  errors: Partial<Record<Stage, unknown>>;
  bytes: number;
}

/**
 * Waits for the three processes. The first one to fail stops the other two (their errors then
 * are consequences and reported only in `errors`). Progress goes to `onProgress` every 250 ms.
 */
export async function waitPipeline(procs: Record<Stage, StageProcess>, relay: Relay, onProgress?: (bytes: number) => void): Promise<PipelineOutcome> {
  const errors: Partial<Record<Stage, unknown>> = {};
  const stopped = new Set<Stage>();
  let first: Stage | null = null;
  const fail = (s: Stage, err: unknown): void => {
    errors[s] = err;
    if (first !== null || stopped.has(s)) return;
    first = s;
    for (const o of ['send', 'relay', 'receive'] as const) {
      if (o === s) continue;
      stopped.add(o);
      procs[o].kill();
    }
  };
  const timer = onProgress ? setInterval(() => onProgress(relay.bytes()), 250) : undefined;
  let bytes = 0;
  try {
    await Promise.all([
      procs.send.done.catch((e) => fail('send', e)),
      relay.done.then((n) => { bytes = n; }, (e) => fail('relay', e)),
      procs.receive.done.catch((e) => fail('receive', e)),
    ]);
  } finally {
    clearInterval(timer);
  }
  return { first, errors, bytes: bytes || relay.bytes() };
}
