import { InvalidArgumentError } from '../errors/index.js';
import { globToRegExp } from '../util/glob.js';
import { compactUtcStamp } from '../util/time.js';
import type { Version } from './driver.js';
import { openEndpoint } from './endpoint.js';

/** prefix plus UTC timestamp, e.g. ferry_20261121T101500Z */
export function snapshotName(prefix: string, at = new Date()): string {
  return `${prefix}_${compactUtcStamp(at)}`;
}

/**
 * Snapshots every filesystem of `endpoint` (matching the glob) with one name, atomically where the
 * driver can. With `skipExisting`, filesystems that already have a snapshot of that name are left
 * alone and reported with it, so a retried job step does not fail on its own earlier success.
 */
export async function snapshot(endpoint: string, o: { name?: string; prefix: string; filesystems?: string; skipExisting?: boolean }): Promise<Array<{ filesystem: string } & Version>> {
  const driver = openEndpoint(endpoint);
  let names = await driver.listFilesystems();
  if (o.filesystems) {
    const re = globToRegExp(o.filesystems);
    names = names.filter((n) => re.test(n));
  }
  if (!names.length) throw new InvalidArgumentError(`no filesystems to snapshot on ${endpoint}${o.filesystems ? ` matching ${o.filesystems}` : ''}`, { code: 'NO_FILESYSTEMS' });
  const name = o.name ?? snapshotName(o.prefix);
  const existing: Array<{ filesystem: string } & Version> = [];
  if (o.skipExisting) {
    const found = await Promise.all(names.map(async (fs) => ({ fs, v: (await driver.listVersions(fs)).find((v) => v.name === name) })));
    for (const f of found) if (f.v) existing.push({ filesystem: f.fs, ...f.v });
    names = found.filter((f) => !f.v).map((f) => f.fs);
    if (!names.length) return existing;
  }
  const versions = await driver.snapshot(names, name);
  return [...existing, ...versions.map((v, i) => ({ filesystem: names[i], ...v }))];
}

/** `<filesystem>@<snapshot>` as a person writes it; InvalidArgumentError unless it is exactly that. */
function parseSnapshotSpec(text: string): { filesystem: string; name: string } {
  const at = text.indexOf('@');
  if (at <= 0 || at === text.length - 1 || text.includes('@', at + 1)) {
    throw new InvalidArgumentError(`expected <filesystem>@<snapshot>, got ${JSON.stringify(text)}`, { code: 'INVALID_ARGUMENT' });
  }
  return { filesystem: text.slice(0, at), name: text.slice(at + 1) };
}

export interface DestroyedSnapshot {
  endpoint: string;
  filesystem: string;
  name: string;
  /** the version as listed just before: absent only if it appeared between the listing and the destroy */
  guid?: string;
  createtxg?: number;
}

/** Destroys the one snapshot `spec` (`<filesystem>@<snapshot>`) of `endpoint`; the driver refuses what it must keep. */
export async function destroySnapshot(endpoint: string, spec: string): Promise<DestroyedSnapshot> {
  const { filesystem, name } = parseSnapshotSpec(spec);
  const driver = openEndpoint(endpoint);
  // read first, to say which version went (a name is not an identity; the guid is)
  const version = (await driver.listVersions(filesystem)).find((v) => v.name === name);
  await driver.destroySnapshot(filesystem, name);
  return { endpoint, filesystem, name, ...(version ? { guid: version.guid, createtxg: version.createtxg } : {}) };
}

export async function list(endpoint: string): Promise<Array<{ filesystem: string; versions: Version[] }>> {
  const driver = openEndpoint(endpoint);
  const names = await driver.listFilesystems();
  // one listing of the endpoint where the driver has it (zfs), else one per filesystem
  const all = names.length ? await driver.listAllVersions?.() : undefined;
  return Promise.all(names.map(async (filesystem) => ({ filesystem, versions: all ? all.get(filesystem) ?? [] : await driver.listVersions(filesystem) })));
}
