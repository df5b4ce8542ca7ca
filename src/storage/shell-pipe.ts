import { readFileSync } from 'node:fs';
import { TemporaryError } from '../errors/index.js';
import { findBash, parentDeathGuard, runShell, shellStatus } from './shell.js';

/**
 * The local fast path for a sender that writes its stream itself (btrfs send: a thread of its own
 * copies the kernel's stream to stdout): `send | receive` in one bash, joined by one OS pipe as an
 * operator's shell joins them, with nothing in between; optionally a command before it (a look at
 * the receiver, after which Node says whether to go on) and one after it (the look that confirms
 * what arrived), in the same shell.
 *
 * - Counting: bash waits for the sender itself, and a reaped child's I/O counters are added to its
 *   parent's; the waiting shell's `wchar` (/proc/<pid>/io) before and after, less what the sender
 *   wrote on stderr, is the exact length of the stream. Live progress is the sender's own `wchar`,
 *   polled.
 * - Why not Node's pipes and a counting relay (local-pipe.ts, still zfs's): Node joins children
 *   with socketpairs, on which btrfs streams moved at about 0.6 of an OS pipe here, and each
 *   process Node forks costs it 1–2 ms of CPU; on this VM kind every exec costs 4–5 ms more, and
 *   a step's looks before and after run in this shell rather than as forks of Node of their own.
 * - Each stage's exit status and stderr come back apart. The shell runs as shell.ts runs them
 *   (its own process group, killed whole on abort, with the parent-death guard); the receiver dies
 *   with this process (exec'd in the shell, or under a guard of its own), and the sender then of
 *   its broken pipe.
 */

export function shellPipeAvailable(): boolean {
  return findBash() !== null;
}

// $1..$4: how many of the following words are the before command's, the sender's, the receiver's
// and the after command's. fd 3: status lines; 4, 5: the sender's and the receiver's stderr; 6, 7:
// the before and after commands' stdout; 8 their stderr. The before command's output ends with a
// line "@@end STATUS" (after a newline of its own) on fds 6 and 8, so that Node knows it has all
// of it; then the shell waits for a line on stdin: "go" runs the pipe, anything else (or none)
// ends the shell.
// iow reads the shell's own wchar with builtins only (a command substitution would fork and count);
// the first read comes before the sender starts: bash reaps a child as soon as it exits, and a
// short stream's sender may be reaped (its counters added) before the next line runs. What the
// shell writes itself in between (the send-pid line) is taken off.
// A reaped child may add more than it wrote: with process accounting on (acct(2), the acct
// package), every process's exit appends a record to the accounting file in its own name (64 bytes
// of wchar). A subshell that writes nothing, reaped right after the sender, measures that amount,
// which is then taken off the sender's: after the stream, not before it, where its fork (4 ms
// here, more under load) held the sender back; now it overlaps the receiver's last writes.
// lastpipe: the receiver runs in the shell's own process: without an after command it is exec'd
// there (its exit is the shell's, and the shell's parent-death guard is its own; an exec costs 4–5
// ms here), else it runs under a guard of its own and PIPESTATUS holds both stages' statuses.
const SCRIPT = `shopt -s lastpipe
nb=$1 ns=$2 nr=$3 na=$4; shift 4
before=("\${@:1:nb}"); shift "$nb"
send=("\${@:1:ns}"); shift "$ns"
recv=("\${@:1:nr}"); shift "$nr"
after=("\${@:1:na}")
if (( nb > 0 )); then
  "\${before[@]}" >&6 2>&8
  b=$?
  printf '\n@@end %s\n' "$b" >&8
  printf '\n@@end %s\n' "$b" >&6
  read -r go || exit 0
  [ "$go" = go ] || exit 0
fi
W=0
iow() { local k v; while read -r k v; do if [ "$k" = wchar: ]; then W=$v; fi; done < /proc/$BASHPID/io; }
{
  iow; w0=$W
  "\${send[@]}" 2>&4 &
  p=$!
  line="send-pid $p"
  echo "$line" >&3
  wait "$p"; s=$?
  iow; w1=$W
  ( : ); iow; x=$((W - w1))
  echo "send $s $((w1 - w0 - \${#line} - 1 - x))" >&3
  exit "$s"
} | if (( na > 0 )); then "\${recv[@]}" 2>&5; else exec "\${recv[@]}" 2>&5; fi
st=("\${PIPESTATUS[@]}")
echo "receive \${st[1]}" >&3
if (( na > 0 && st[0] == 0 && st[1] == 0 )); then
  "\${after[@]}" >&7 2>&8
  echo "after $?" >&3
fi
`;

export interface StageExit {
  /** exit status, null when it died by a signal or its status never came back */
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** a before or after command's exit and output */
export interface LookExit extends StageExit {
  stdout: string;
}

export interface ShellPipeOutcome {
  /** the stage that failed by itself (not from the other's failure), `shell` when the shell itself did, or null */
  first: 'send' | 'receive' | 'shell' | null;
  /** false when the before command's look said not to go on: nothing was sent */
  ran: boolean;
  send: StageExit;
  receive: StageExit;
  /** the after command, when both stages succeeded */
  after: LookExit | null;
  /** the shell's own stderr (its failures: a command not found is the stage's) */
  shell: StageExit;
  /** the stream's length in bytes: exact once the sender was waited for, else the last polled figure */
  bytes: number;
}

export interface ShellPipeOptions {
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  env?: NodeJS.ProcessEnv;
  /**
   * Run first; `proceed` is given its exit and output and says whether the pipe runs. Meanwhile the
   * shell waits (an abort ends it). Whatever `proceed` throws, the shell is ended first.
   */
  before?: { argv: readonly string[]; proceed(look: LookExit): Promise<boolean> };
  /** run once both stages succeeded; its exit and output are the outcome's `after` */
  after?: readonly string[];
}

/** Runs `send | receive` (argument vectors, binaries first); resolves when the shell has exited, whatever the outcome. */
export async function runShellPipe(send: readonly string[], receive: readonly string[], opts: ShellPipeOptions = {}): Promise<ShellPipeOutcome> {
  const before = opts.before?.argv ?? [];
  const after = opts.after ?? [];
  // exec'd by the shell unless an after command follows it: then it needs a guard of its own
  const recv = after.length ? [...parentDeathGuard(), ...receive] : [...receive];
  const counts = [before.length, send.length, recv.length, after.length].map(String);
  const shell = runShell(SCRIPT, 'ferry-pipe', [...counts, ...before, ...send, ...recv, ...after], {
    fds: 9, whole: [6, 7], stdin: opts.before !== undefined, env: opts.env, signal: opts.signal,
  });
  let ran = true;
  if (opts.before) {
    const ended = (tail: string) => END.test(tail);
    const complete = (await shell.when(6, ended)) && (await shell.when(8, ended));
    let go = false;
    try {
      if (complete) {
        const status = Number(END.exec(shell.text(6))![1]);
        go = await opts.before.proceed({ ...shellStatus(status), stdout: withoutEnd(shell.text(6)), stderr: withoutEnd(shell.text(8)) });
      }
    } finally {
      shell.stdin!.end(go ? 'go\n' : 'stop\n');
      if (!go) await shell.closed.catch(() => undefined);
    }
    ran = complete && go;
    if (complete && !go) return { first: null, ran: false, send: notRun, receive: notRun, after: null, shell: { ...(await shell.closed), stderr: shell.text(2) }, bytes: 0 };
  }
  let polled = 0;
  const timer = setInterval(() => {
    const pid = /^send-pid (\d+)$/m.exec(shell.text(3))?.[1];
    if (pid === undefined) return;
    const w = wchar(Number(pid), shell.bytes(4));
    if (w !== null && w > polled) polled = w;
    opts.onProgress?.(polled);
  }, 250);
  const { code, signal } = await shell.closed.finally(() => clearInterval(timer));
  const lines = shell.text(3);
  const sendLine = /^send (\d+) (\d+)$/m.exec(lines);
  const receiveLine = /^receive (\d+)$/m.exec(lines);
  const afterLine = /^after (\d+)$/m.exec(lines);
  const outcome: ShellPipeOutcome = {
    first: null,
    ran,
    send: { ...statusOf(sendLine?.[1]), stderr: shell.text(4) },
    // without an after command the receiver was exec'd: the child's exit is its own
    receive: { ...(after.length ? statusOf(receiveLine?.[1]) : { code, signal }), stderr: shell.text(5) },
    // fd 8 holds the before command's stderr first
    after: afterLine ? { ...statusOf(afterLine[1]), stdout: shell.text(7), stderr: shell.text(8).replace(/^[\s\S]*\n@@end \d+\n/, '') } : null,
    shell: { code, signal, stderr: shell.text(2) },
    bytes: sendLine ? Number(sendLine[2]) - shell.bytes(4) : polled,
  };
  outcome.first = firstFailure(outcome, sendLine !== null && (receiveLine !== null || after.length === 0));
  if (outcome.first === null) opts.onProgress?.(outcome.bytes);
  return outcome;
}

const notRun: StageExit = { code: null, signal: null, stderr: '' };

/**
 * The error for an outcome whose `first` is `shell`: the shell ended without both stages'
 * statuses (killed, or bash itself failed). `tool` names the commands in the message.
 */
export function shellFailure(o: ShellPipeOutcome, tool: string, send: readonly string[], receive: readonly string[]): TemporaryError {
  const how = o.shell.signal ? `killed by ${o.shell.signal}` : `exit ${o.shell.code}`;
  const said = [o.shell.stderr, o.send.stderr, o.receive.stderr].map((t) => t.trim()).filter(Boolean).join(' | ');
  return new TemporaryError(`the shell running ${tool} send | ${tool} receive ended without their statuses (${how})${said ? `: ${said.slice(-2000)}` : ''}`, {
    code: 'PIPELINE_FAILED',
    details: { send: [...send], receive: [...receive] },
  });
}

const END = /\n@@end (\d+)\n$/;

/** a look's output without the shell's closing "@@end" line */
function withoutEnd(text: string): string {
  return text.replace(END, '');
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
