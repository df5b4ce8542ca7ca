import { PermanentError } from '../../errors/index.js';

export { nameProblem, isValidName, assertName, type NameKind } from '../names.js';

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
