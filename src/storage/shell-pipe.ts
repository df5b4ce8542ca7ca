import { readFileSync } from 'node:fs';
import { findBash, runShell, shellStatus } from './shell.js';

/**
 * The local fast path for a sender that writes its stream itself (btrfs send: a thread of its own
 * copies the kernel's stream to stdout): `send | receive` in one bash, joined by one OS pipe as an
 * operator's shell joins them, with nothing in between.
 *
 * - Counting: bash waits for the sender itself, and a reaped child's I/O counters are added to its
 *   parent's; the waiting shell's `wchar` (/proc/<pid>/io) before and after, less what the sender
 *   wrote on stderr, is the exact length of the stream. Live progress is the sender's own `wchar`,
 *   polled.
 * - Why not Node's pipes and a counting relay (local-pipe.ts, still zfs's): Node joins children
 *   with socketpairs, on which btrfs streams moved at about 0.6 of an OS pipe here, and each
 *   process Node forks costs it 1–2 ms of CPU: one fork per step instead of three.
 * - Each stage's exit status and stderr come back apart (fds 3, 4, 5); the receiver is exec'd in the
 *   shell's process (bash's lastpipe), so its exit is the child's. The shell runs as shell.ts runs
 *   them (its own process group, killed whole on abort); the parent-death guard survives the exec,
 *   so the receiver dies with this process, and the sender then of its broken pipe.
 */

export function shellPipeAvailable(): boolean {
  return findBash() !== null;
}

// $1: how many of the following words are the sender's command; the rest are the receiver's.
// iow reads the shell's own wchar with builtins only (a command substitution would fork and count).
// lastpipe: the receiver is exec'd in the shell's own process, Node's child, whose exit is its own.
const SCRIPT = `shopt -s lastpipe
n=$1; shift
W=0
iow() { local k v; while read -r k v; do if [ "$k" = wchar: ]; then W=$v; fi; done < /proc/$BASHPID/io; }
{
  "\${@:1:n}" 2>&4 &
  p=$!
  echo "send-pid $p" >&3
  iow; w0=$W
  wait "$p"; s=$?
  iow
  echo "send $s $((W - w0))" >&3
} | exec "\${@:n+1}" 2>&5
`;

export interface StageExit {
  /** exit status, null when it died by a signal or its status never came back */
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface ShellPipeOutcome {
  /** the stage that failed by itself (not from the other's failure), `shell` when the shell itself did, or null */
  first: 'send' | 'receive' | 'shell' | null;
  send: StageExit;
  receive: StageExit;
  /** the shell's own stderr (its failures: a command not found is the stage's) */
  shell: StageExit;
  /** the stream's length in bytes: exact once the sender was waited for, else the last polled figure */
  bytes: number;
}

export interface ShellPipeOptions {
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  env?: NodeJS.ProcessEnv;
}

/** Runs `send | receive` (argument vectors, binaries first); resolves when the shell has exited, whatever the outcome. */
export async function runShellPipe(send: readonly string[], receive: readonly string[], opts: ShellPipeOptions = {}): Promise<ShellPipeOutcome> {
  // fds: 2 the shell's own stderr, 3 the status lines, 4 the sender's stderr, 5 the receiver's
  const shell = runShell(SCRIPT, 'ferry-pipe', [String(send.length), ...send, ...receive], { fds: 6, env: opts.env, signal: opts.signal });
  let polled = 0;
  const timer = setInterval(() => {
    const pid = /^send-pid (\d+)$/m.exec(shell.text(3))?.[1];
    if (pid === undefined) return;
    const w = wchar(Number(pid), shell.bytes(4));
    if (w !== null && w > polled) polled = w;
    opts.onProgress?.(polled);
  }, 250);
  const { code, signal } = await shell.closed.finally(() => clearInterval(timer));
  const sendLine = /^send (\d+) (\d+)$/m.exec(shell.text(3));
  const outcome: ShellPipeOutcome = {
    first: null,
    send: { ...statusOf(sendLine?.[1]), stderr: shell.text(4) },
    // the child is the receiver (exec'd by the shell)
    receive: { code, signal, stderr: shell.text(5) },
    shell: { code, signal, stderr: shell.text(2) },
    bytes: sendLine ? Number(sendLine[2]) - shell.bytes(4) : polled,
  };
  outcome.first = firstFailure(outcome, sendLine !== null);
  if (outcome.first === null) opts.onProgress?.(outcome.bytes);
  return outcome;
}

function statusOf(status: string | undefined): { code: number | null; signal: NodeJS.Signals | null } {
  return status === undefined ? { code: null, signal: null } : shellStatus(Number(status));
}

const failed = (s: StageExit): boolean => s.code !== 0;
const brokenPipe = (s: StageExit): boolean => s.signal === 'SIGPIPE' || /Broken pipe|EPIPE/i.test(s.stderr);

/**
 * Which failure came first: a sender that failed by itself is the cause even when the receiver then
 * failed on the cut stream (or took it as complete); a sender killed by the broken pipe is the
 * receiver's consequence.
 */
function firstFailure(o: ShellPipeOutcome, complete: boolean): ShellPipeOutcome['first'] {
  if (!complete) return 'shell';
  if (!failed(o.send) && !failed(o.receive)) return null;
  if (failed(o.send) && !(failed(o.receive) && brokenPipe(o.send))) return 'send';
  return 'receive';
}

/** what `pid` wrote so far, less `besides` (its stderr) */
function wchar(pid: number, besides: number): number | null {
  try {
    const m = /^wchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Math.max(0, Number(m[1]) - besides) : null;
  } catch {
    return null;
  }
}
