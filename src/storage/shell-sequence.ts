import { spawn } from 'node:child_process';
import { TemporaryError } from '../errors/index.js';
import { findBash, parentDeathGuard, shellStatus } from './shell.js';

/**
 * Short commands run one after another by one bash, stopping at the first that fails: one fork
 * from Node for all of them. A fork of Node's 100 MB process costs it 1–2 ms of CPU (its page
 * tables copied, then torn down at exec), a fork of bash a fraction of that: forty
 * `btrfs subvolume snapshot` were forty forks of Node. Each command's stderr comes back apart.
 */

// Arguments: for each command its number of words, then the words. fd 3: a line per command
// ("ok I" or "fail I STATUS"); fd 4: "@@ I" before each command's stderr. Each `shift` copies the
// remaining arguments, so a shell takes at most MAX_COMMANDS.
const SCRIPT = `i=0
while (( $# > 0 )); do
  k=$1; shift
  echo "@@ $i" >&4
  "\${@:1:k}" 2>&4
  s=$?
  if (( s != 0 )); then echo "fail $i $s" >&3; exit 0; fi
  echo "ok $i" >&3
  shift "$k"; i=$((i + 1))
done
`;

export interface SequenceOutcome {
  /** how many commands succeeded, in order */
  done: number;
  /** the command that failed (the sequence stopped there), or the shell's own failure (index -1) */
  failed?: { index: number; code: number | null; signal: NodeJS.Signals | null; stderr: string };
}

/** argument bytes per shell: well below Linux's limit on a command line (ARG_MAX, 2 MiB by default) */
const MAX_ARG_BYTES = 512 * 1024;
/** commands per shell: the script's shifts make a shell's time grow with the square of its commands (1,500 took 1.7 s, 256 take 50 ms) */
const MAX_COMMANDS = 256;

type Options = { env?: NodeJS.ProcessEnv; signal?: AbortSignal };

/**
 * Runs `commands` (argument vectors, binaries first) in order; resolves when the last shell has
 * exited. Many commands go to several shells one after another (MAX_COMMANDS, MAX_ARG_BYTES each).
 */
export async function runShellSequence(commands: readonly (readonly string[])[], opts: Options = {}): Promise<SequenceOutcome> {
  let done = 0;
  while (done < commands.length) {
    let end = done;
    let bytes = 0;
    while (end < commands.length && end - done < MAX_COMMANDS && (end === done || bytes + argBytes(commands[end]) <= MAX_ARG_BYTES)) bytes += argBytes(commands[end++]);
    const part = await runOneShell(commands.slice(done, end), opts);
    if (part.failed) return { done: done + part.done, failed: part.failed.index < 0 ? part.failed : { ...part.failed, index: done + part.failed.index } };
    done = end;
  }
  return { done };
}

function argBytes(command: readonly string[]): number {
  return command.reduce((n, a) => n + Buffer.byteLength(a) + 1, 8);
}

function runOneShell(commands: readonly (readonly string[])[], opts: Options): Promise<SequenceOutcome> {
  const bash = findBash();
  if (bash === null) return Promise.reject(new TemporaryError('bash not found to run commands', { code: 'TOOL_NOT_FOUND' }));
  opts.signal?.throwIfAborted();
  // a ferry that dies takes the shell along: no command starts after it
  const argv = [...parentDeathGuard(), bash, '-c', SCRIPT, 'ferry-seq', ...commands.flatMap((c) => [String(c.length), ...c])];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true, env: opts.env ?? process.env });
  const text = { shell: '', status: '', stderr: '' };
  for (const [fd, key] of [[2, 'shell'], [3, 'status'], [4, 'stderr']] as const) {
    const s = child.stdio[fd] as NodeJS.ReadableStream | null;
    s?.setEncoding('utf8');
    s?.on('data', (d: string) => {
      text[key] += d;
    });
  }
  const kill = (): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  opts.signal?.addEventListener('abort', kill, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      if (child.pid === undefined) reject(new TemporaryError(`cannot run bash: ${err.message}`, { code: 'SPAWN_FAILED', cause: err }));
    });
    child.once('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', kill);
      const done = [...text.status.matchAll(/^ok \d+$/gm)].length;
      const fail = /^fail (\d+) (\d+)$/m.exec(text.status);
      if (fail) {
        const index = Number(fail[1]);
        const at = text.stderr.lastIndexOf(`@@ ${index}\n`);
        const stderr = at < 0 ? text.stderr : text.stderr.slice(at + `@@ ${index}\n`.length);
        resolve({ done, failed: { index, ...shellStatus(Number(fail[2])), stderr } });
      } else if (done === commands.length) resolve({ done });
      else resolve({ done, failed: { index: -1, code, signal: sig, stderr: `${text.shell}${text.stderr}`.trim() } });
    });
  });
}
