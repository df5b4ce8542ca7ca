import { InvalidArgumentError, PermanentError } from '../../errors/index.js';

/**
 * Names become directory names under the root, so they are validated before anything touches
 * the disk: a small character set (no '/', spaces, ';'), no '..', no leading '-' (would read as an
 * option to a tool) and no leading '.' (hidden names are reserved for the driver's `.ferry`).
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
    throw new InvalidArgumentError(`invalid ${kind} name ${JSON.stringify(value)}: ${problem}`, {
      code: 'INVALID_NAME',
      details: { kind, value: String(value) },
    });
  }
}

/**
 * A path inside a snapshot as a stream carries it: relative, '/'-separated, no empty, '.' or '..'
 * segments. Streams are untrusted input, so every path is checked before it is joined to a directory.
 */
export function assertRelativePath(value: unknown, context: string): asserts value is string {
  const bad = (why: string) =>
    new PermanentError(`corrupt stream: ${context} path ${JSON.stringify(value)} ${why}`, { code: 'CORRUPT_STREAM' });
  if (typeof value !== 'string' || value.length === 0) throw bad('is not a non-empty string');
  if (value.length > 4096 || value.includes('\0')) throw bad('is too long or contains NUL');
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw bad('is not a plain relative path');
  }
}
