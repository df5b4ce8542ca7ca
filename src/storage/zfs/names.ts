import { InvalidArgumentError, quote } from '../../errors/index.js';

/**
 * Names become arguments of `zfs`, so every one is checked before any command runs: each
 * '/'-separated component non-empty and made of [A-Za-z0-9_.:-], no component starting with '-'
 * (it would read as an option), no '..', no '@' in a filesystem name, no spaces or ';'. The full
 * name must fit zfs' limit of 255 bytes.
 */
const COMPONENT = /^[A-Za-z0-9_.:-]+$/;
const MAX_DATASET_NAME = 255;

export type ZfsNameKind = 'filesystem' | 'snapshot' | 'root dataset';

function componentProblem(c: string): string | null {
  if (c === '') return 'has an empty component';
  if (!COMPONENT.test(c)) return "may only contain letters, digits, '_', '.', ':' and '-' (and '/' between components)";
  if (c.startsWith('-')) return "has a component starting with '-'";
  if (c.includes('..') || c === '.') return "must not contain '.' or '..' components";
  return null;
}

/** Why `value` is not a usable name of `kind`, or null when it is. */
export function zfsNameProblem(kind: ZfsNameKind, value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (Buffer.byteLength(value) > MAX_DATASET_NAME) return `must be at most ${MAX_DATASET_NAME} bytes`;
  if (value.includes('@')) return kind === 'snapshot' ? "must not contain '@' (give the snapshot name only)" : "must not contain '@'";
  if (kind === 'snapshot' && value.includes('/')) return "must not contain '/'";
  for (const c of value.split('/')) {
    const p = componentProblem(c);
    if (p) return p;
  }
  return null;
}

export function isValidZfsName(kind: ZfsNameKind, value: unknown): value is string {
  return zfsNameProblem(kind, value) === null;
}

export function assertZfsName(kind: ZfsNameKind, value: unknown): asserts value is string {
  const problem = zfsNameProblem(kind, value);
  if (problem !== null) {
    throw new InvalidArgumentError(`invalid ${kind} name ${quote(value)}: ${problem}`, {
      code: 'INVALID_NAME',
      details: { kind, value: quote(value) },
    });
  }
}

/** `root/fs@snapshot` must stay within zfs' name limit. */
export function assertFullName(full: string): void {
  if (Buffer.byteLength(full) > MAX_DATASET_NAME) {
    throw new InvalidArgumentError(`zfs name ${JSON.stringify(full)} is longer than ${MAX_DATASET_NAME} bytes`, {
      code: 'INVALID_NAME',
      details: { value: full },
    });
  }
}
