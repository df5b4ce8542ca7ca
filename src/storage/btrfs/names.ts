import { InvalidArgumentError } from '../../errors/index.js';

/**
 * Filesystem and snapshot names become path components under the root and arguments of btrfs, so
 * they are checked before anything runs: only `A-Z a-z 0-9 _ . : -`, at most 255 bytes, no `..`,
 * not starting with `-` (would read as an option) or `.` (hidden names, `.ferry`, are the driver's).
 * Hence no `/`, spaces or `;`.
 */
const NAME_CHARS = /^[A-Za-z0-9_.:-]+$/;
const MAX_NAME_BYTES = 255;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** A version handed to send(): its name must be a valid snapshot name and its guid a btrfs UUID. */
export function assertVersionArgument(role: string, v: unknown): void {
  const version = v as { name?: unknown; guid?: unknown } | null;
  assertName('snapshot', version?.name);
  if (!isUuid(version?.guid)) {
    throw new InvalidArgumentError(`invalid ${role} version guid ${JSON.stringify(version?.guid)}: expected a btrfs UUID`, {
      code: 'INVALID_GUID',
      details: { value: String(version?.guid) },
    });
  }
}
