// The dir driver's index (.ferry/indexes/<fs>.json, src/storage/dir/snapshot-index.ts): a
// listing reads it instead of every meta.json, it follows every snapshot, receive and destroy, and
// when it is missing, torn or disagrees with the snapshot directories the listing reads the
// directories and the next lock holder writes it again.
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { StorageDriver } from '../src/storage/driver.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { tempBase } from './helpers/files.js';

const indexFile = (root: string, fs: string) => join(root, '.ferry', 'indexes', `${fs}.json`);
const metaFile = (root: string, fs: string, snap: string) => join(root, '.ferry', 'snapshots', fs, snap, 'meta.json');

async function indexedNames(root: string, fs: string): Promise<string[]> {
  return (JSON.parse(await readFile(indexFile(root, fs), 'utf8')) as { snapshots: [string][] }).snapshots.map(([name]) => name);
}

async function senderWith(base: string, snaps: string[]): Promise<{ root: string; A: StorageDriver }> {
  const root = join(base, 'a');
  await mkdir(join(root, 'data'), { recursive: true });
  const A = createDirDriver(root);
  for (const [i, name] of snaps.entries()) {
    await writeFile(join(root, 'data', 'f'), `content ${i}`);
    await A.snapshot(['data'], name);
  }
  return { root, A };
}

const names = async (driver: StorageDriver, fs = 'data') => (await driver.listVersions(fs)).map((v) => v.name);

describe('dir index', () => {
  it('follows snapshots and destroys, and a listing reads it instead of the metas', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1', 's2', 's3']);
    assert.deepEqual(await indexedNames(root, 'data'), ['s1', 's2', 's3']);
    await A.destroySnapshot('data', 's2');
    assert.deepEqual(await indexedNames(root, 'data'), ['s1', 's3']);
    const before = await A.listVersions('data');
    // a meta the listing would have to read is unreadable now: the index answers alone
    await writeFile(metaFile(root, 'data', 's1'), 'not json');
    assert.deepEqual(await A.listVersions('data'), before);
  });

  it('follows receives', async (t) => {
    const base = await tempBase(t);
    const { A } = await senderWith(base, ['s1', 's2']);
    const [s1, s2] = await A.listVersions('data');
    const rroot = join(base, 'b');
    const B = createDirDriver(rroot);
    await B.receive('data', (await A.send('data', null, s1)).stream);
    assert.deepEqual(await indexedNames(rroot, 'data'), ['s1']);
    await B.receive('data', (await A.send('data', s1, s2)).stream);
    assert.deepEqual(await indexedNames(rroot, 'data'), ['s1', 's2']);
    assert.deepEqual((await B.listVersions('data')).map((v) => v.guid), [s1.guid, s2.guid]);
  });

  it('a snapshot destroyed and taken again under the same name is listed with its new guid', async (t) => {
    const { A } = await senderWith(await tempBase(t), ['s1', 's2']);
    const old = (await A.listVersions('data'))[1];
    await A.destroySnapshot('data', 's2');
    const [again] = await A.snapshot(['data'], 's2');
    assert.notEqual(again.guid, old.guid);
    assert.deepEqual((await A.listVersions('data')).at(-1), again);
  });

  it('a snapshot directory removed or added around the lock is seen, and the next lock holder indexes it', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1', 's2', 's3']);
    const snaps = join(root, '.ferry', 'snapshots', 'data');
    await rm(join(snaps, 's2'), { recursive: true }); // as a person (or an older ferry) would
    assert.deepEqual(await names(A), ['s1', 's3']);
    // a copy of s3 named s9, with its meta saying so: listed, though the index does not know it
    await cp(join(snaps, 's3'), join(snaps, 's9'), { recursive: true });
    const meta = JSON.parse(await readFile(metaFile(root, 'data', 's9'), 'utf8'));
    await writeFile(metaFile(root, 'data', 's9'), JSON.stringify({ ...meta, name: 's9', guid: 'f'.repeat(32), createtxg: 99 }));
    assert.deepEqual(await names(A), ['s1', 's3', 's9']);
    assert.deepEqual(await indexedNames(root, 'data'), ['s1', 's2', 's3']); // readers never write it
    await A.snapshot(['data'], 's10'); // a lock holder: rebuilds, then adds its own
    assert.deepEqual(await indexedNames(root, 'data'), ['s1', 's3', 's10', 's9']); // by createtxg: s9 has 99
  });

  it('a missing or torn index is listed from the metas and rebuilt by the next lock holder', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1', 's2']);
    const listed = await A.listVersions('data');
    await rm(indexFile(root, 'data')); // what a crash between a rename and the index's write leaves
    assert.deepEqual(await A.listVersions('data'), listed);
    await A.snapshot(['data'], 's3');
    assert.deepEqual(await indexedNames(root, 'data'), ['s1', 's2', 's3']);

    await writeFile(indexFile(root, 'data'), '{"format":"ferry-dir-ind'); // torn by hand: writes are atomic
    assert.deepEqual(await names(A), ['s1', 's2', 's3']);
    await A.destroySnapshot('data', 's1');
    assert.deepEqual(await indexedNames(root, 'data'), ['s2', 's3']);
  });

  it('an index of another filesystem or format is not trusted', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1']);
    const index = JSON.parse(await readFile(indexFile(root, 'data'), 'utf8'));
    await writeFile(indexFile(root, 'data'), JSON.stringify({ ...index, fs: 'other', snapshots: [] }));
    assert.deepEqual(await names(A), ['s1']);
    await writeFile(indexFile(root, 'data'), JSON.stringify({ ...index, format: 'ferry-dir-index-v0', snapshots: [] }));
    assert.deepEqual(await names(A), ['s1']);
  });
});
