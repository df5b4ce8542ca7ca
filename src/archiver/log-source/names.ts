import { InvalidArgumentError, PermanentError, quote } from '../../errors/index.js';

/**
 * Storage, partition and consumer names become directory and file names under the log root, so
 * they are checked before anything touches the disk: letters, digits, '_' and '-' only (no '/',
 * no '.', so no '..' and no hidden names, which the log source keeps for its own staging files).
 */
const LOG_NAME = /^[A-Za-z0-9_-]+$/;
const MAX_NAME_BYTES = 200;

export type LogNameKind = 'storage' | 'partition' | 'consumer';

/** Entry names are the LSN in decimal, zero-padded to this width, so they sort by LSN. */
export const LSN_WIDTH = 20;

export function logNameProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (value.length > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} characters`;
  if (!LOG_NAME.test(value)) return "may only contain letters, digits, '_' and '-'";
  return null;
}

export function isValidLogName(value: unknown): value is string {
  return logNameProblem(value) === null;
}

export function assertLogName(kind: LogNameKind, value: unknown): asserts value is string {
  const problem = logNameProblem(value);
  if (problem !== null) {
    throw new InvalidArgumentError(`invalid ${kind} name ${quote(value)}: ${problem}`, {
      code: 'INVALID_NAME',
      details: { kind, value: quote(value) },
    });
  }
}

/** An LSN argument: a safe integer >= `min` (1 for entries, 0 for positions). */
export function assertLsn(value: unknown, what: string, min = 1): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(value)}: must be an integer >= ${min}`, {
      code: 'INVALID_LSN',
      details: { what, value: String(value) },
    });
  }
}

/** 42 -> "00000000000000000042" */
export function lsnName(lsn: number): string {
  return String(lsn).padStart(LSN_WIDTH, '0');
}

/** The LSN an entry name stands for, or null when the name is not an entry name. */
export function parseLsnName(name: string): number | null {
  if (name.length !== LSN_WIDTH || !/^[0-9]+$/.test(name)) return null;
  const lsn = Number(name);
  return Number.isSafeInteger(lsn) && lsn >= 1 ? lsn : null;
}

/** A decimal number file (committed, positions): "<n>\n". */
export function parseNumberFile(text: string, path: string): number {
  const t = text.trim();
  const n = /^[0-9]+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new PermanentError(`corrupt log source: ${path} holds ${JSON.stringify(text.slice(0, 40))}, expected a decimal LSN`, {
      code: 'CORRUPT_LOG',
      details: { path },
    });
  }
  return n;
}
