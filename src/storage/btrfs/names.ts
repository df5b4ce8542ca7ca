import { InvalidArgumentError } from '../../errors/index.js';

import { assertName } from '../names.js';

export { nameProblem, isValidName, assertName, type NameKind } from '../names.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
