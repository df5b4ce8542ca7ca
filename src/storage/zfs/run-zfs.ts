import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { PermanentError, TemporaryError, type FerryError } from '../../errors/index.js';
import { createLogger, type Logger } from '../../util/logger.js';
import { findOnPath } from '../executables.js';

/**
 * The one place the zfs driver runs `zfs`: child_process.spawn with an argument array (never a
 * shell), every command logged and counted, stderr captured and turned into typed errors, an
 * AbortSignal honoured. Callers validate dataset and snapshot names before they get here.
 */

let commands = 0;

/** How many zfs commands this process has started (tests check that refused input ran none). */
export function zfsCommandCount(): number {
  return commands;
}

let logger: Logger | undefined;

/** Replace the logger of zfs commands (default: ferry's pino logger named "ferry-zfs"). */
export function setZfsLogger(log: Logger): void {
  logger = log;
}

export function zfsLog(): Logger {
  return (logger ??= createLogger({ name: 'ferry-zfs' }));
}

const EXTRA_DIRS = ['/usr/sbin', '/sbin'];

/** The absolute path of `name` from PATH, /usr/sbin or /sbin; PermanentError ZFS_NOT_FOUND if none. */
function findBinary(name: string): string {
  const path = findOnPath(name, EXTRA_DIRS);
  if (path) return path;
  throw new PermanentError(`${name} not found in PATH, /usr/sbin or /sbin: install OpenZFS (zfsutils-linux) or zfs-fuse`, {
    code: 'ZFS_NOT_FOUND',
    details: { binary: name },
  });
}

const MAX_STDERR = 64 * 1024;

/** What a person needs from stderr: the first lines, without the usage text zfs appends. */
export function stderrSummary(stderr: string): string {
  const cut = stderr.split(/\n\s*usage:/i)[0].trim().replace(/\s*\n\s*/g, ' ');
  return cut.length > 500 ? `${cut.slice(0, 500)}...` : cut;
}

type Kind = 'temporary' | 'permanent';
/** stderr patterns, first match wins; the code goes into the error for machines and callers. */
const RULES: [RegExp, Kind, string][] = [
  [/has been modified\s+since\s+most\s+recent\s+snapshot/i, 'permanent', 'CONFLICT_DIVERGED'],
  [/most recent snapshot of \S+ does\s+not\s+match\s+incremental\s+source/i, 'permanent', 'CONFLICT_DIVERGED'],
  [/destination '?[^\s']+'? exists|must specify -F to overwrite|destination already exists/i, 'permanent', 'CONFLICT_EXISTS'],
  [/dataset already exists/i, 'permanent', 'ALREADY_EXISTS'],
  [/dataset is busy|device busy|resource busy|pool is busy|\bEBUSY\b/i, 'temporary', 'BUSY'],
  [/permission denied|operation not permitted|insufficient privileges|must be root|\bEPERM\b|\bEACCES\b/i, 'permanent', 'PERMISSION_DENIED'],
  [/out of space|no space left|\bENOSPC\b|quota exceeded/i, 'temporary', 'NO_SPACE'],
  [/partially-complete state|receive_resume_token|resume token/i, 'temporary', 'RESUME_STATE'],
  [/invalid backup stream|checksum mismatch|failed to read from stream|stream (is )?(corrupt|truncated)|unexpected end/i, 'temporary', 'STREAM_INVALID'],
  [/broken pipe|\bEPIPE\b/i, 'temporary', 'BROKEN_PIPE'],
  [/does not exist|no such pool|no such dataset/i, 'permanent', 'NOT_FOUND'],
  [/unable to connect|connection refused|cannot connect|zfs-fuse|\/dev\/zfs|failed to initiali[sz]e (the )?zfs library|socket/i, 'temporary', 'ZFS_UNAVAILABLE'],
  [/I\/O error|\bEIO\b/i, 'temporary', 'IO_ERROR'],
  [/invalid option|unrecognized command|invalid property|bad property list|too many arguments|usage:/i, 'permanent', 'ZFS_UNSUPPORTED'],
];

/** The typed error for a zfs command that failed with `stderr` (unknown failures are temporary). */
export function zfsError(args: readonly string[], exit: number | string | null, stderr: string): FerryError {
  const summary = stderrSummary(stderr) || '(no error output)';
  const message = `zfs ${args.join(' ')} failed (${typeof exit === 'string' ? `signal ${exit}` : `exit ${exit}`}): ${summary}`;
  const details = { args: [...args], exit, stderr: stderr.slice(0, 4000) };
  for (const [pattern, kind, code] of RULES) {
    if (pattern.test(stderr)) {
      return kind === 'permanent' ? new PermanentError(message, { code, details }) : new TemporaryError(message, { code, details });
    }
  }
  return new TemporaryError(message, { code: 'ZFS_FAILED', details });
}

function abortedError(args: readonly string[], reason: unknown): TemporaryError {
  return new TemporaryError(`zfs ${args.join(' ')} aborted`, { code: 'ABORTED', cause: reason, details: { args: [...args] } });
}

export interface ZfsProcess {
  child: ChildProcess;
  /** stdin of zfs when started with `stdin: 'pipe'` */
  stdin: Writable | null;
  /** stdout of zfs when started with `stdout: 'pipe'` */
  stdout: Readable | null;
  /** resolves when zfs exited 0, rejects with a typed error otherwise (ABORTED after the signal) */
  done: Promise<void>;
  /** true once the process has exited */
  readonly exited: boolean;
  /** close its pipes, SIGTERM, SIGKILL 5 s later if it is still there; resolves when it is gone */
  stop(): Promise<void>;
}

export interface SpawnZfsOptions {
  signal?: AbortSignal;
  /** a Readable with an fd (another child's stdout): zfs reads that pipe directly */
  stdin?: 'pipe' | 'ignore' | Readable;
  stdout?: 'pipe' | 'ignore';
  /** stop the command after this long (TemporaryError TIMEOUT) */
  timeoutMs?: number;
}

function assertArgs(args: readonly string[]): void {
  for (const a of args) {
    if (typeof a !== 'string' || a.includes('\0')) throw new PermanentError(`invalid zfs argument ${JSON.stringify(a)}`, { code: 'INVALID_ARGUMENT' });
  }
}

/** `zfs ...args` as an argument vector for another runner (the local pipe's shell), counted and logged as a zfs command. */
export function zfsCommand(args: readonly string[]): string[] {
  assertArgs(args);
  const bin = findBinary('zfs');
  commands++;
  zfsLog().debug({ cmd: ['zfs', ...args], shellPipe: true }, 'zfs command');
  return [bin, ...args];
}

/** The environment zfs commands run in. */
export function zfsEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C' };
}

/** Starts `zfs ...args`. The only function (with zfsCommand and zfsUsageSync) that runs a zfs binary. */
export function spawnZfs(args: readonly string[], opts: SpawnZfsOptions = {}): ZfsProcess {
  assertArgs(args);
  if (opts.signal?.aborted) throw abortedError(args, opts.signal.reason);
  const bin = findBinary('zfs');
  commands++;
  const started = Date.now();
  const log = zfsLog();
  log.debug({ cmd: ['zfs', ...args] }, 'zfs command');
  const child = spawn(bin, [...args], { stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'pipe', 'pipe'], env: zfsEnv() });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < MAX_STDERR) stderr += d;
  });
  // EPIPE on a pipe zfs closed is reported through its exit status; an unheard 'error' would crash
  child.stdin?.on('error', () => undefined);
  child.stdout?.on('error', () => undefined);

  let exited = false;
  let stopReason: 'abort' | 'timeout' | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (err) => {
      exited = true;
      resolve({ code: null, signal: null, spawnError: err });
    });
    child.once('close', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5_000);
    }
    await closed;
  };

  const onAbort = () => {
    stopReason ??= 'abort';
    void stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    stopReason ??= 'timeout';
    void stop();
  }, opts.timeoutMs);

  const done = closed.then(({ code, signal, spawnError }) => {
    opts.signal?.removeEventListener('abort', onAbort);
    clearTimeout(timeout);
    clearTimeout(killTimer);
    const ms = Date.now() - started;
    if (spawnError) {
      log.debug({ cmd: ['zfs', ...args], err: spawnError.message }, 'zfs could not start');
      throw new TemporaryError(`zfs ${args.join(' ')} could not start: ${spawnError.message}`, { code: 'ZFS_UNAVAILABLE', cause: spawnError });
    }
    log.debug({ cmd: ['zfs', ...args], exit: code, signal, ms }, 'zfs exited');
    if (stopReason === 'abort') throw abortedError(args, opts.signal?.reason);
    if (stopReason === 'timeout') {
      throw new TemporaryError(`zfs ${args.join(' ')} timed out after ${opts.timeoutMs} ms`, { code: 'TIMEOUT', details: { args: [...args] } });
    }
    if (code !== 0) throw zfsError(args, code ?? signal, stderr);
  });
  done.catch(() => undefined); // callers that only stop() must not leave an unhandled rejection

  return {
    child,
    stdin: child.stdin,
    stdout: child.stdout,
    done,
    get exited() {
      return exited;
    },
    stop,
  };
}

/** Default limit for commands that do not stream (list, get, snapshot, create, destroy). */
const COMMAND_TIMEOUT_MS = 5 * 60_000;

/** Runs `zfs ...args` to completion; resolves with stdout, rejects with a typed error. */
export async function runZfs(args: readonly string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
  const proc = spawnZfs(args, { signal: opts.signal, stdout: 'pipe', timeoutMs: opts.timeoutMs ?? COMMAND_TIMEOUT_MS });
  let stdout = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    stdout += d;
  });
  await proc.done;
  return stdout;
}

/**
 * `zfs -?`: the usage text, which tells which options this zfs has (read once per process by
 * features.ts). Synchronous because driver capabilities are a plain property. Needs no daemon or
 * pool. Returns null when zfs is missing or prints nothing.
 */
export function zfsUsageSync(): string | null {
  let bin: string;
  try {
    bin = findBinary('zfs');
  } catch {
    return null;
  }
  commands++;
  zfsLog().debug({ cmd: ['zfs', '-?'] }, 'zfs command (feature probe)');
  const r = spawnSync(bin, ['-?'], { encoding: 'utf8', timeout: 10_000, env: zfsEnv() });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return text.trim() === '' ? null : text;
}
