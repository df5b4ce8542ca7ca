import { InvalidArgumentError, quote } from '../errors/index.js';

/**
 * Filesystem and snapshot names of the dir and btrfs drivers become path components under the root
 * and arguments of tools, so they are validated before anything runs: a small character set (no '/',
 * spaces, ';'), no '..', no leading '-' (would read as an option) and no leading '.' (hidden names
 * are reserved for the drivers' `.ferry`).
 */
const NAME_CHARS = /^[A-Za-z0-9_.:-]+$/;
const MAX_NAME_BYTES = 255;

export type NameKind = 'filesystem' | 'snapshot';

/** Why `value` is not a usable name, or null when it is. */
export function nameProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (Buffer.byteLength(value) > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes`;
  if (!NAME_CHARS.test(value)) return "may only contain letters, digits, '_', '.', ':' and '-'";
  if (value.startsWith('-')) return "must not start with '-'";
  if (value.startsWith('.')) return "must not start with '.'";
  if (value.includes('..')) return "must not contain '..'";
  return null;
}

export function isValidName(value: unknown): value is string {
  return nameProblem(value) === null;
}

export function assertName(kind: NameKind, value: unknown): asserts value is string {
  const problem = nameProblem(value);
  if (problem !== null) {
    throw new InvalidArgumentError(`invalid ${kind} name ${quote(value)}: ${problem}`, {
      code: 'INVALID_NAME',
      details: { kind, value: quote(value) },
    });
  }
}

/** The filesystems of one snapshot call must be distinct (every driver takes each one once). */
export function assertDistinct(filesystems: string[]): void {
  if (new Set(filesystems).size !== filesystems.length) {
    throw new InvalidArgumentError(`filesystem listed twice in ${JSON.stringify(filesystems)}`, { code: 'INVALID_ARGUMENT' });
  }
}
