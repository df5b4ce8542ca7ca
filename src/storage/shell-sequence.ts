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
// ("ok I" or "fail I STATUS"); fd 4: "@@ I" before each command's stderr.
const SCRIPT = `i=0
while (( $# > 0 )); do
  k=$1; shift
  echo "@@ $i" >&4
  "\${@:1:k}" 2>&4
  s=$?
  if (( s != 0 )); then echo "fail $i $s" >&3; exit 0; fi
  echo "ok $i" >&3
  shift "$k"; i=$((i+1))
done
`;

export interface SequenceOutcome {
  /** how many commands succeeded, in order */
  done: number;
  /** the command that failed (the sequence stopped there), or the shell's own failure (index -1) */
  failed?: { index: number; code: number | null; signal: NodeJS.Signals | null; stderr: string };
}

/** Runs `commands` (argument vectors, binaries first) in order; resolves when the shell has exited. */
export function runShellSequence(commands: readonly (readonly string[])[], opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<SequenceOutcome> {
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
