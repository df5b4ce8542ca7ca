import { runShell, shellStatus } from './shell.js';

/**
 * Short commands run one after another by one bash, stopping at the first that fails: one fork
 * from Node for all of them. A fork of Node's 100 MB process costs it 1–2 ms of CPU (its page
 * tables copied, then torn down at exec), a fork of bash a fraction of that: forty
 * `btrfs subvolume snapshot` were forty forks of Node. Each command's stderr comes back apart;
 * the shell runs as shell.ts runs them (killed whole on abort, and with this process).
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

async function runOneShell(commands: readonly (readonly string[])[], opts: Options): Promise<SequenceOutcome> {
  // fds: 2 the shell's own stderr, 3 a line per command, 4 the commands' stderr
  const shell = runShell(SCRIPT, 'ferry-seq', commands.flatMap((c) => [String(c.length), ...c]), { fds: 5, ...opts });
  const { code, signal } = await shell.closed;
  const status = shell.text(3);
  const done = [...status.matchAll(/^ok \d+$/gm)].length;
  const fail = /^fail (\d+) (\d+)$/m.exec(status);
  if (fail) {
    const index = Number(fail[1]);
    const stderr = shell.text(4);
    const at = stderr.lastIndexOf(`@@ ${index}\n`);
    return { done, failed: { index, ...shellStatus(Number(fail[2])), stderr: at < 0 ? stderr : stderr.slice(at + `@@ ${index}\n`.length) } };
  }
  if (done === commands.length) return { done };
  return { done, failed: { index: -1, code, signal, stderr: `${shell.text(2)}${shell.text(4)}`.trim() } };
}
