import { isAbsolute, normalize } from 'node:path';
import { InvalidArgumentError, quote } from '../errors/index.js';
import type { StorageDriver } from './driver.js';
import { createBtrfsDriver } from './btrfs/index.js';
import { createDirDriver } from './dir/index.js';
import { createZfsDriver } from './zfs/index.js';
import { lazyRemoteDriver } from './remote/lazy-driver.js';

export type EndpointKind = 'dir' | 'zfs' | 'btrfs';

export interface ParsedEndpoint {
  /** the driver kind; for grpc[s]://host:port/<endpoint>, the remote endpoint's kind */
  kind: EndpointKind;
  /** absolute path (dir, btrfs) or pool/dataset (zfs); for a remote endpoint the whole normalized grpc[s]:// URL */
  location: string;
  /** set for grpc[s]://host:port/<endpoint>: the agent to call, the endpoint it serves, and whether over TLS (grpcs) */
  remote?: { address: string; endpoint: string; tls: boolean };
}


const USAGE = 'expected dir:/abs/path, zfs:pool/dataset, btrfs:/abs/path, or grpc://host:port/<one of those> (grpcs:// for TLS)';

/** The agent address `host:port` (IPv6 host in brackets), host lower-cased; null when `text` is not one. */
export function agentAddress(text: string): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) return null;
  return `${m[1].toLowerCase()}:${port}`;
}

/** grpc://host:port/<endpoint>: a local endpoint served by `ferry agent` on host:port; grpcs:// the same over TLS. */
function parseRemote(endpoint: string, scheme: 'grpc' | 'grpcs', rest: string): ParsedEndpoint {
  const m = /^\/\/([^/]+)\/(.+)$/.exec(rest);
  const address = m ? agentAddress(m[1]) : null;
  if (!m || !address) {
    throw new InvalidArgumentError(`invalid endpoint ${quote(endpoint)}: expected ${scheme}://host:port/<endpoint>, e.g. ${scheme}://10.0.0.5:7001/dir:/srv/a`, { code: 'INVALID_ENDPOINT' });
  }
  const inner = parseEndpoint(m[2]);
  if (inner.remote) throw new InvalidArgumentError(`invalid endpoint ${quote(endpoint)}: an agent serves local endpoints, not grpc:// or grpcs:// ones`, { code: 'INVALID_ENDPOINT' });
  const local = `${inner.kind}:${inner.location}`;
  return { kind: inner.kind, location: `${scheme}://${address}/${local}`, remote: { address, endpoint: local, tls: scheme === 'grpcs' } };
}

/** Parses an endpoint as a person writes it; throws InvalidArgumentError naming the problem. */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const m = /^([a-z]+):(.*)$/.exec(endpoint ?? '');
  if (!m) throw new InvalidArgumentError(`invalid endpoint ${quote(endpoint)}: ${USAGE}`, { code: 'INVALID_ENDPOINT' });
  const [, kind, location] = m;
  switch (kind) {
    case 'dir':
    case 'btrfs':
      if (!isAbsolute(location)) throw new InvalidArgumentError(`invalid endpoint ${quote(endpoint)}: the path must be absolute (${USAGE})`, { code: 'INVALID_ENDPOINT' });
      return { kind, location: normalize(location).replace(/(.)\/$/, '$1') };
    case 'zfs':
      if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$/.test(location)) {
        throw new InvalidArgumentError(`invalid endpoint ${quote(endpoint)}: not a valid pool/dataset name`, { code: 'INVALID_ENDPOINT' });
      }
      return { kind, location };
    case 'grpc':
    case 'grpcs':
      return parseRemote(endpoint, kind, location);
    default:
      throw new InvalidArgumentError(`unknown endpoint kind "${kind}" in ${quote(endpoint)}: ${USAGE}`, { code: 'INVALID_ENDPOINT' });
  }
}

/** An endpoint with its driver kind: a ParsedEndpoint with what the person wrote, or a StorageDriver. */
export interface KindedEndpoint {
  kind: EndpointKind;
  /** the endpoint as a person wrote it */
  endpoint: string;
}

/**
 * Throws InvalidArgumentError ENDPOINT_KIND_MISMATCH (details: field `receiver`, sender, receiver)
 * unless both ends are of one storage kind: only the driver kind that made a stream can apply it.
 * The one check for a run request (before anything starts) and for the planner (given drivers).
 */
export function assertSameKind(sender: KindedEndpoint, receiver: KindedEndpoint): void {
  if (sender.kind === receiver.kind) return;
  throw new InvalidArgumentError(
    `cannot replicate from ${sender.endpoint} (${sender.kind}) to ${receiver.endpoint} (${receiver.kind}): ` +
      'sender and receiver must use the same storage kind (the same driver makes and applies the stream); ' +
      `pick a receiver endpoint of kind ${sender.kind}`,
    { code: 'ENDPOINT_KIND_MISMATCH', details: { field: 'receiver', sender: sender.endpoint, receiver: receiver.endpoint } },
  );
}

/** Opens the storage driver for an endpoint. */
export function openEndpoint(endpoint: string): StorageDriver {
  const { kind, location, remote } = parseEndpoint(endpoint);
  if (remote) return lazyRemoteDriver({ url: location, kind, ...remote });
  switch (kind) {
    case 'dir':
      return createDirDriver(location);
    case 'btrfs':
      return createBtrfsDriver(location);
    case 'zfs':
      return createZfsDriver(location);
  }
}
