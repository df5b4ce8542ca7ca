import { isAbsolute, normalize } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import type { StorageDriver } from './driver.js';
import { createBtrfsDriver } from './btrfs/index.js';
import { createDirDriver } from './dir/index.js';
import { createZfsDriver } from './zfs/index.js';

export type EndpointKind = 'dir' | 'zfs' | 'btrfs';

export interface ParsedEndpoint {
  kind: EndpointKind;
  /** absolute path (dir, btrfs) or pool/dataset (zfs) */
  location: string;
}

const USAGE = 'expected dir:/abs/path, zfs:pool/dataset or btrfs:/abs/path';

/** Parses an endpoint as a person writes it; throws InvalidArgumentError naming the problem. */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const m = /^([a-z]+):(.*)$/.exec(endpoint ?? '');
  if (!m) throw new InvalidArgumentError(`invalid endpoint ${JSON.stringify(endpoint)}: ${USAGE}`, { code: 'INVALID_ENDPOINT' });
  const [, kind, location] = m;
  switch (kind) {
    case 'dir':
    case 'btrfs':
      if (!isAbsolute(location)) throw new InvalidArgumentError(`invalid endpoint ${JSON.stringify(endpoint)}: the path must be absolute (${USAGE})`, { code: 'INVALID_ENDPOINT' });
      return { kind, location: normalize(location).replace(/(.)\/$/, '$1') };
    case 'zfs':
      if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$/.test(location)) {
        throw new InvalidArgumentError(`invalid endpoint ${JSON.stringify(endpoint)}: not a valid pool/dataset name`, { code: 'INVALID_ENDPOINT' });
      }
      return { kind, location };
    default:
      throw new InvalidArgumentError(`unknown endpoint kind "${kind}" in ${JSON.stringify(endpoint)}: ${USAGE}`, { code: 'INVALID_ENDPOINT' });
  }
}

/** Opens the storage driver for an endpoint. */
export function openEndpoint(endpoint: string): StorageDriver {
  const { kind, location } = parseEndpoint(endpoint);
  switch (kind) {
    case 'dir':
      return createDirDriver(location);
    case 'btrfs':
      return createBtrfsDriver(location);
    case 'zfs':
      return createZfsDriver(location);
  }
}
