import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { FerryError, PermanentError, TemporaryError } from '../../errors/index.js';
import { findOnPath } from '../executables.js';
import { findBash, runShell, shellStatus } from '../shell.js';

/**
 * The one place the btrfs driver runs programs: `btrfs` only, spawned with an argument array
 * (never a shell), LC_ALL=C so messages can be matched, TZ=UTC (`subvolume list` prints times without
 * a zone), stderr captured and turned into typed
 * errors, an AbortSignal honoured (SIGTERM, then SIGKILL after KILL_GRACE_MS).
 */

/** Where binaries are looked for after $PATH: root's tools are often not on a service's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
const KILL_GRACE_MS = 2000;
/** stderr kept per process: the tail is what explains a failure */
const MAX_STDERR = 16 * 1024;

let calls = 0;
const running = new Set<ChildProcess>();

/** How many btrfs processes this module started (tests check nothing ran for invalid input). */
export function btrfsCallCount(): number {
  return calls;
}

/** btrfs processes started by this module that have not exited yet. */
export function runningBtrfsProcesses(): number {
  return running.size;
}

/** Absolute path of `program`, searched in $PATH then /usr/sbin, /sbin, /usr/bin, /bin. */
function findBinary(program: string): string {
  const path = findOnPath(program, EXTRA_DIRS);
  if (path) return path;
  throw new PermanentError(`${program} not found in $PATH or ${EXTRA_DIRS.join(', ')}: install btrfs-progs`, {
    code: 'TOOL_NOT_FOUND',
    details: { program },
  });
}

type Rule = [RegExp, 'temporary' | 'permanent', string];

/** First match wins; the order matters ("Not a Btrfs subvolume: Invalid argument"). */
const RULES: Rule[] = [
  // a batch (send -c) with a snapshot whose parent btrfs send cannot pick: its origin subvolume is
  // gone (a restore replaced the live subvolume, a pruned snapshot); the step runner then sends
  // that batch's snapshots one at a time
  [/parent determination failed/i, 'permanent', 'BATCH_UNSUPPORTED'],
  [/Operation not permitted|Permission denied|must be root|EPERM|EACCES/i, 'permanent', 'PERMISSION_DENIED'],
  [/No space left on device|Disk quota exceeded|ENOSPC/i, 'temporary', 'NO_SPACE'],
  [/Device or resource busy|Resource temporarily unavailable|Text file busy|Interrupted system call|EBUSY|EAGAIN/i, 'temporary', 'BUSY'],
  [/short read|unexpected EOF|premature end/i, 'temporary', 'TRUNCATED_STREAM'],
  [/crc mismatch|invalid (command|stream|attribute|magic)|unknown stream|unsupported stream|stream version/i, 'permanent', 'CORRUPT_STREAM'],
  [/(cannot|could not) find parent subvolume|cannot find parent|clone source .*not found/i, 'permanent', 'CONFLICT_MISSING_FROM'],
  [/File exists/i, 'permanent', 'ALREADY_EXISTS'],
  [/Read-only file system/i, 'permanent', 'READ_ONLY'],
  [/Not a Btrfs subvolume|not a subvolume/i, 'permanent', 'NOT_A_SUBVOLUME'],
  [/Not a Btrfs filesystem|not a btrfs/i, 'permanent', 'NOT_BTRFS'],
  [/No such file or directory|cannot find real path|unable to resolve|does not exist/i, 'permanent', 'NOT_FOUND'],
  [/Input\/output error|EIO/i, 'temporary', 'IO_ERROR'],
  [/Invalid argument|EINVAL/i, 'permanent', 'INVALID'],
];

/** The error for a btrfs run that failed: by its stderr; unknown failures are temporary (as src/errors). */
export function classifyBtrfsFailure(args: readonly string[], exit: { code: number | null; signal: NodeJS.Signals | null }, stderr: string): FerryError {
  const text = stderr.trim();
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  const message = `btrfs ${args.join(' ')} failed (${how})${text ? `: ${lastLines(text)}` : ''}`;
  const details = { args: [...args], exitCode: exit.code, signal: exit.signal, stderr: text };
  for (const [re, kind, code] of RULES) {
    if (re.test(text)) return kind === 'temporary' ? new TemporaryError(message, { code, details }) : new PermanentError(message, { code, details });
  }
  return new TemporaryError(message, { code: 'BTRFS_FAILED', details });
}

function lastLines(text: string, n = 5): string {
  return text.split('\n').slice(-n).join(' | ');
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The environment btrfs runs with (messages matched in C, times printed in UTC). */
export function btrfsEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
}

/** `btrfs <args>` as an argument vector for another runner (the local pipe's shell), counted as a btrfs command. */
export function btrfsCommand(args: readonly string[]): string[] {
  const binary = findBinary('btrfs');
  calls++;
  return [binary, ...args];
}

export interface BtrfsProcess {
  child: ChildProcess;
  /** the process's stdin when started with `stdin: 'pipe'` */
  stdin: Writable | null;
  stdout: Readable;
  /** resolves on exit 0; rejects with a typed error (or the abort reason) otherwise. Never unhandled. */
  done: Promise<void>;
  /** resolves when the process has exited, whatever the outcome */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited after a grace period */
  kill(): void;
}

export interface SpawnOptions {
  signal?: AbortSignal;
  /** a Readable with an fd (another child's stdout): btrfs reads that pipe directly */
  stdin?: 'ignore' | 'pipe' | Readable;
}

/** Start `btrfs <args>`; the caller reads stdout (and writes stdin) itself. */
export function spawnBtrfs(args: readonly string[], opts: SpawnOptions = {}): BtrfsProcess {
  const { signal } = opts;
  signal?.throwIfAborted();
  const binary = findBinary('btrfs');
  calls++;
  const child = spawn(binary, [...args], {
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    env: btrfsEnv(),
  });
  running.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr += d;
    if (stderr.length > MAX_STDERR) stderr = stderr.slice(-MAX_STDERR / 2);
  });
  child.stdin?.on('error', () => undefined); // EPIPE when it exits early: reported through `done`

  let killTimer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  const onAbort = (): void => kill();
  signal?.addEventListener('abort', onAbort, { once: true });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    let spawnError: Error | undefined;
    child.once('error', (err) => {
      spawnError = err;
      // a process that failed to start never emits 'close'
      if (child.pid === undefined) resolve({ code: null, signal: null, spawnError: err });
    });
    child.once('close', (code, sig) => resolve({ code, signal: sig, spawnError }));
  }).finally(() => {
    running.delete(child);
    clearTimeout(killTimer);
    signal?.removeEventListener('abort', onAbort);
  });

  const done = exited.then((exit) => {
    if (signal?.aborted) throw abortReason(signal);
    if (exit.spawnError && exit.code === null) {
      const code = (exit.spawnError as NodeJS.ErrnoException).code;
      throw new PermanentError(`cannot run ${binary}: ${exit.spawnError.message}`, { code: code === 'ENOENT' ? 'TOOL_NOT_FOUND' : 'SPAWN_FAILED', cause: exit.spawnError });
    }
    if (exit.code !== 0) throw classifyBtrfsFailure(args, exit, stderr);
  });
  done.catch(() => undefined);
  return { child, stdin: child.stdin, stdout: child.stdout!, done, exited: exited.then(() => undefined), kill };
}

/** Run `btrfs <args>` to completion; its stdout as text. */
export async function runBtrfs(args: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<string> {
  const p = spawnBtrfs(args, { signal: opts.signal });
  let stdout = '';
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (d: string) => {
    stdout += d;
  });
  await p.done;
  return stdout;
}

/**
 * The stdout of a running btrfs as a stream for someone else to consume (btrfs send). It ends only
 * once the process exited 0, so a consumer never takes a failed send for a complete one; a non-zero
 * exit destroys it with the typed error, an abort with the abort reason. Destroying it, or the
 * consumer it is piped into going away, kills the process: nobody is left to read what it writes.
 */
export function processOutput(p: BtrfsProcess): Readable {
  const out = new ProcessOutput(p);
  p.stdout.pipe(out, { end: false });
  p.done.then(
    () => {
      // 'close' of a child comes after its stdout ended, so everything has been written to `out` by now
      if (p.stdout.readableEnded) out.end();
      else p.stdout.once('end', () => out.end());
    },
    (err) => out.destroy(err as Error),
  );
  return out;
}

class ProcessOutput extends PassThrough {
  private pipes = 0;
  constructor(private readonly proc: BtrfsProcess) {
    super();
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    this.pipes++;
    return super.pipe(destination, options);
  }

  override unpipe(destination?: NodeJS.WritableStream): this {
    const before = this.pipes;
    super.unpipe(destination);
    this.pipes = destination === undefined ? 0 : Math.max(0, this.pipes - 1);
    // a destination that closed early (receiver failed) unpipes: stop the producer instead of blocking it forever
    if (before > 0 && this.pipes === 0 && !this.readableEnded && !this.destroyed) this.destroy();
    return this;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.proc.kill();
    this.proc.stdout.destroy();
    cb(err);
  }
}

// $1: how many of the following words are the first command's. stdouts on fds 3 and 4, stderrs on
// 5 and 6, both exit statuses on 7; the first runs in the background, beside the second.
const PAIR_SCRIPT = `n=$1; shift
"\${@:1:n}" >&3 2>&5 &
p=$!
shift "$n"
"$@" >&4 2>&6
b=$?
wait "$p"; a=$?
echo "$a $b" >&7
`;

/**
 * `btrfs <a>` and `btrfs <b>` at once, both run by one bash: one fork of Node instead of two (a
 * listing and its `-s` twin, say). Their stdouts as text; a failure of either is its typed error.
 */
export async function runBtrfsPair(a: readonly string[], b: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<[string, string]> {
  const { signal } = opts;
  signal?.throwIfAborted();
  if (findBash() === null) return Promise.all([runBtrfs(a, opts), runBtrfs(b, opts)]);
  const [ca, cb] = [btrfsCommand(a), btrfsCommand(b)];
  const shell = runShell(PAIR_SCRIPT, 'ferry-btrfs', [String(ca.length), ...ca, ...cb], { fds: 8, whole: [3, 4], env: btrfsEnv(), signal });
  const exit = await shell.closed;
  if (signal?.aborted) throw abortReason(signal);
  const status = /^(\d+) (\d+)$/m.exec(shell.text(7));
  if (!status) {
    const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
    throw new TemporaryError(`the shell running btrfs ${a.join(' ')} and btrfs ${b.join(' ')} ended without their statuses (${how}): ${shell.text(2).trim().slice(-2000)}`, { code: 'BTRFS_FAILED' });
  }
  for (const [i, args] of [a, b].entries()) {
    const code = Number(status[i + 1]);
    if (code !== 0) throw classifyBtrfsFailure(args, shellStatus(code), shell.text(5 + i));
  }
  return [shell.text(3), shell.text(4)];
}
