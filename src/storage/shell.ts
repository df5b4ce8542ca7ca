import { constants } from 'node:os';
import { findExecutable } from './executables.js';

/** What the local shells (shell-pipe.ts, shell-sequence.ts) share: bash, the parent-death guard, `$?`. */

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
