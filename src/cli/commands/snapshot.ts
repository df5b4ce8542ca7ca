import { InvalidArgumentError } from '../../errors/index.js';
import { globToRegExp } from '../../replication/planner.js';
import type { Version } from '../../storage/driver.js';
import { openEndpoint } from '../../storage/endpoint.js';

/** prefix plus UTC timestamp, e.g. ferry_20261121T101500Z */
export function snapshotName(prefix: string, at = new Date()): string {
  return `${prefix}_${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

export async function snapshot(endpoint: string, o: { name?: string; prefix: string; filesystems?: string }): Promise<Array<{ filesystem: string } & Version>> {
  const driver = openEndpoint(endpoint);
  let names = await driver.listFilesystems();
  if (o.filesystems) {
    const re = globToRegExp(o.filesystems);
    names = names.filter((n) => re.test(n));
  }
  if (!names.length) throw new InvalidArgumentError(`no filesystems to snapshot on ${endpoint}${o.filesystems ? ` matching ${o.filesystems}` : ''}`, { code: 'NO_FILESYSTEMS' });
  const name = o.name ?? snapshotName(o.prefix);
  const versions = await driver.snapshot(names, name);
  return versions.map((v, i) => ({ filesystem: names[i], ...v }));
}

export async function list(endpoint: string): Promise<Array<{ filesystem: string; versions: Version[] }>> {
  const driver = openEndpoint(endpoint);
  const names = await driver.listFilesystems();
  return Promise.all(names.map(async (filesystem) => ({ filesystem, versions: await driver.listVersions(filesystem) })));
}
