import { spawn, type ChildProcess } from 'node:child_process';
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

// ---- warm shells ---------------------------------------------------------------------------------
// Making a process costs here what a whole listing does: from Node, `spawn('true')` takes about 9
// ms and a bash under the guard about 14 ms until it runs its first command (bench/README.md). A
// script run once in a process is therefore kept ready from then on: one bash of it, started in an
// idle moment, waits with its args still to come on its stdin (NUL-separated, their count first).
// The next run of the same script, name, fds, env and working directory takes it and only writes
// the args (about 2 ms). An idle one holds no reference on the event loop and ends with its stdin
// when this process ends (the guard kills it when the process dies). FERRY_WARM_SHELLS=0: none.

/** what a warm shell runs before the script: its args, from its stdin */
const WARM_PROLOGUE = `IFS= read -r -d '' __ferry_n || exit 0
__ferry_a=()
while (( \${#__ferry_a[@]} < __ferry_n )); do IFS= read -r -d '' __ferry_x || exit 0; __ferry_a+=("$__ferry_x"); done
set -- "\${__ferry_a[@]}"
unset __ferry_n __ferry_a __ferry_x
`;
/** args longer than this in all (bytes) go to a new shell's command line */
const WARM_ARGS_MAX = 4096;
/** idle shells kept at most (one per script and env; an env changed meanwhile leaves its old one idle): the oldest ends */
const WARM_IDLE_MAX = 8;
/** after a run takes or starts a shell, its replacement starts this much later: inside the run's own work, not before it */
const WARM_DELAY_MS = 50;

/** per key, the idle warm shell */
const idle = new Map<string, ChildProcess>();
/** keys with a replacement due */
const due = new Set<string>();

interface Refable {
  ref?(): void;
  unref?(): void;
}

function setReferenced(child: ChildProcess, on: boolean): void {
  if (on) child.ref();
  else child.unref();
  for (const s of child.stdio) (s as Refable | null)?.[on ? 'ref' : 'unref']?.();
}

function startShell(argv: readonly string[], stdin: boolean, fds: number, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(argv[0], argv.slice(1), {
    stdio: [stdin ? 'pipe' : 'ignore', 'ignore', ...Array.from({ length: fds - 2 }, () => 'pipe' as const)],
    detached: true,
    env,
  });
  // a shell gone before it read its stdin: the write's EPIPE is no one's concern
  child.stdin?.on('error', () => undefined);
  return child;
}

/** The idle warm shell for `key`, now the caller's, or undefined. (One that died while idle has left `idle` already: keepWarm.) */
function takeWarm(key: string): ChildProcess | undefined {
  const child = idle.get(key);
  if (!child) return undefined;
  idle.delete(key);
  setReferenced(child, true);
  return child;
}

/** A warm shell for `key` from `start` a little later, unless one is idle or due. */
function keepWarm(key: string, start: () => ChildProcess): void {
  if (idle.has(key) || due.has(key)) return;
  due.add(key);
  setTimeout(() => {
    due.delete(key);
    let child: ChildProcess;
    try {
      child = start();
    } catch {
      return; // the next run starts its own, and reports why it cannot
    }
    const gone = () => {
      if (idle.get(key) === child) idle.delete(key);
    };
    child.once('error', gone);
    child.once('exit', gone);
    setReferenced(child, false);
    idle.set(key, child);
    for (const [k, c] of idle) {
      if (idle.size <= WARM_IDLE_MAX) break;
      idle.delete(k);
      c.stdin?.end(); // no args will come: it exits
    }
  }, WARM_DELAY_MS).unref();
}

/** what a warm shell must match to run this script, or null where none may (an arg spawn() would refuse goes the usual way, and fails there) */
function warmKey(script: string, name: string, args: readonly string[], fds: number, env: NodeJS.ProcessEnv): string | null {
  if (process.env.FERRY_WARM_SHELLS === '0' || args.some((a) => a.includes('\0'))) return null;
  // bash reads a pipe a byte at a time (about 1 ms per KiB here): long argument lists start a shell
  if (args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) > WARM_ARGS_MAX) return null;
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    return null; // removed under this process: a new shell says so
  }
  return JSON.stringify([script, name, fds, cwd, env]);
}

/** pids of the idle warm shells, or of those of the scripts run as `name` (tests) */
export function warmShellPids(name?: string): number[] {
  return [...idle].filter(([key]) => name === undefined || (JSON.parse(key) as unknown[])[1] === name).map(([, c]) => c.pid).filter((p): p is number => p !== undefined);
}

/**
 * `bash --norc --noprofile -c script name ...args` (its env without BASH_ENV) under the
 * parent-death guard, in a process group of its own that `signal` kills whole (SIGTERM, SIGKILL
 * after a grace) until every process of it has gone; fds 2 to `fds - 1` are read apart. A warm
 * shell of the same script runs it when one is ready (above). TemporaryError when bash is missing
 * or cannot start.
 */
export function runShell(script: string, name: string, args: readonly string[], opts: ShellOptions): ShellRun {
  const bash = findBash();
  if (bash === null) throw new TemporaryError('bash not found to run local commands', { code: 'TOOL_NOT_FOUND' });
  const { signal } = opts;
  signal?.throwIfAborted();
  // No startup file, ever: a bash whose stdin is a socket (Node's stdin pipe) and whose SHLVL is
  // unset (systemd, docker, cron) takes itself for an ssh session and reads ~/.bashrc (600 ms of
  // pyenv on one machine, per btrfs step); BASH_ENV is read by every non-interactive bash.
  const { BASH_ENV: _ignored, ...env } = opts.env ?? process.env;
  const shell = [...parentDeathGuard(), bash, '--norc', '--noprofile', '-c'];
  const key = warmKey(script, name, args, opts.fds, env);
  let child = key === null ? undefined : takeWarm(key);
  if (child) {
    child.stdin!.write([String(args.length), ...args].map((a) => `${a}\0`).join(''));
    if (!opts.stdin) child.stdin!.end();
  } else {
    child = startShell([...shell, script, name, ...args], !!opts.stdin, opts.fds, env);
  }
  if (key !== null) keepWarm(key, () => startShell([...shell, WARM_PROLOGUE + script, name], true, opts.fds, env));
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
  return { pid: child.pid, text, bytes: (fd) => bytes[fd], closed, stdin: opts.stdin ? child.stdin : null, when };
}
