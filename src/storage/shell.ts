import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { TemporaryError } from '../errors/index.js';
import { findExecutable } from './executables.js';

/**
 * What the local shells (shell-pipe.ts, shell-sequence.ts) and the relay (local-pipe.ts) share:
 * bash, the parent-death guard, one bash run with its output fds apart, `$?`.
 */

const DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
/** probed once per process: undefined before, null when missing */
let bashPath: string | null | undefined;
let setprivPath: string | null | undefined;

export function findBash(): string | null {
  if (bashPath === undefined) bashPath = findExecutable('bash', DIRS);
  return bashPath;
}

/**
 * util-linux `setpriv --pdeathsig KILL --` to put before a command, or nothing without setpriv: the
 * command (and what it execs) is killed when this process dies, so nothing it started goes on
 * unwatched.
 */
export function parentDeathGuard(): string[] {
  if (setprivPath === undefined) setprivPath = findExecutable('setpriv', DIRS);
  return setprivPath ? [setprivPath, '--pdeathsig', 'KILL', '--'] : [];
}

/** A shell's `$?`: above 128, the death by that signal. */
export function shellStatus(status: number): { code: number | null; signal: NodeJS.Signals | null } {
  if (status <= 128) return { code: status, signal: null };
  const name = Object.entries(constants.signals).find(([, v]) => v === status - 128)?.[0] as NodeJS.Signals | undefined;
  return { code: null, signal: name ?? null };
}

/** text kept per output fd: the tail is what explains a failure */
const KEEP_CHARS = 64 * 1024;
/** the end of each fd's output that when() looks at */
const TAIL_CHARS = 4096;
const KILL_GRACE_MS = 2000;

export interface ShellRun {
  /** the child's pid (bash's, or what it exec'd) */
  pid: number | undefined;
  /** what the shell wrote on fd `n` (2 and up) so far: its last 64 KiB, or all of it for the fds in `whole` */
  text(fd: number): string;
  /** how many bytes the shell wrote on fd `n` so far */
  bytes(fd: number): number;
  /** resolves with the child's exit once every process holding its fds has gone */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the shell's stdin with `stdin: true` (a write after the shell is gone is dropped), else null */
  stdin: Writable | null;
  /** resolves true once `test` holds of the last 4 KiB fd `n` got, false when the shell's fds closed first */
  when(fd: number, test: (tail: string) => boolean): Promise<boolean>;
}

export interface ShellOptions {
  /** fds 2 to fds - 1 are read */
  fds: number;
  /** fds whose whole output is kept (a listing), not only its tail */
  whole?: readonly number[];
  /** a pipe to the shell's stdin instead of /dev/null */
  stdin?: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/**
 * `bash --norc --noprofile -c script name ...args` (its env without BASH_ENV) under the
 * parent-death guard, in a process group of its own that `signal` kills whole (SIGTERM, SIGKILL
 * after a grace) until every process of it has gone; fds 2 to `fds - 1` are read apart.
 * TemporaryError when bash is missing or cannot start.
 */
export function runShell(script: string, name: string, args: readonly string[], opts: ShellOptions): ShellRun {
  const bash = findBash();
  if (bash === null) throw new TemporaryError('bash not found to run local commands', { code: 'TOOL_NOT_FOUND' });
  const { signal } = opts;
  signal?.throwIfAborted();
  // No startup file, ever: a bash whose stdin is a socket (Node's stdin pipe) and whose SHLVL is
  // unset (systemd, docker, cron) takes itself for an ssh session and reads ~/.bashrc (600 ms of
  // pyenv on one machine, per btrfs step); BASH_ENV is read by every non-interactive bash.
  const argv = [...parentDeathGuard(), bash, '--norc', '--noprofile', '-c', script, name, ...args];
  const { BASH_ENV: _ignored, ...env } = opts.env ?? process.env;
  const child = spawn(argv[0], argv.slice(1), {
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'ignore', ...Array.from({ length: opts.fds - 2 }, () => 'pipe' as const)],
    detached: true,
    env,
  });
  // a shell gone before it read its stdin: the write's EPIPE is no one's concern
  child.stdin?.on('error', () => undefined);
  // per fd: its whole output in pieces (joined when asked) or its last 64 KiB, and its last 4 KiB
  // apart, so that watching a large output's end costs nothing per chunk
  const pieces: string[][] = [];
  const kept: string[] = [];
  const tails: string[] = [];
  const bytes: number[] = [];
  const watchers = new Set<() => void>();
  const whole = new Set(opts.whole ?? []);
  for (let fd = 2; fd < opts.fds; fd++) {
    pieces[fd] = [];
    kept[fd] = '';
    tails[fd] = '';
    bytes[fd] = 0;
    const decoder = new StringDecoder('utf8');
    (child.stdio[fd] as Readable | null)?.on('data', (chunk: Buffer) => {
      bytes[fd] += chunk.length;
      const piece = decoder.write(chunk);
      if (whole.has(fd)) pieces[fd].push(piece);
      else kept[fd] = (kept[fd] + piece).slice(-KEEP_CHARS);
      tails[fd] = (tails[fd] + piece.slice(-TAIL_CHARS)).slice(-TAIL_CHARS);
      for (const w of watchers) w();
    });
  }
  const text = (fd: number): string => {
    if (!whole.has(fd)) return kept[fd];
    if (pieces[fd].length > 1) pieces[fd] = [pieces[fd].join('')];
    return pieces[fd][0] ?? '';
  };
  let done = false;
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    if (done || child.pid === undefined) return;
    const group = -child.pid;
    const send = (sig: NodeJS.Signals) => {
      try {
        process.kill(group, sig);
      } catch {
        // already gone
      }
    };
    send('SIGTERM');
    killTimer ??= setTimeout(() => send('SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  signal?.addEventListener('abort', kill, { once: true });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const end = () => {
      done = true;
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', kill);
    };
    child.once('error', (err) => {
      if (child.pid !== undefined) return; // reported through 'close'
      end();
      reject(new TemporaryError(`cannot run bash: ${err.message}`, { code: 'SPAWN_FAILED', cause: err }));
    });
    child.once('close', (code, sig) => {
      end();
      resolve({ code, signal: sig });
    });
  });
  const when = (fd: number, test: (tail: string) => boolean): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (!test(tails[fd])) return;
        watchers.delete(check);
        resolve(true);
      };
      watchers.add(check);
      check();
      closed.then(
        () => {
          watchers.delete(check);
          resolve(test(tails[fd]));
        },
        () => resolve(false),
      );
    });
  return { pid: child.pid, text, bytes: (fd) => bytes[fd], closed, stdin: child.stdin, when };
}
