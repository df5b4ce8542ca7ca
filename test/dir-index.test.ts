// The dir driver's index (.ferry/indexes/<fs>.json, src/storage/dir/snapshot-index.ts): a
// listing reads it instead of every meta.json, it follows every snapshot, receive and destroy, and
// when it is missing, torn or disagrees with the snapshot directories the listing reads the
// directories and the next lock holder writes it again.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { StorageDriver } from '../src/storage/driver.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { decodeIndex, INDEX_FORMAT } from '../src/storage/dir/index-format.js';
import { tempBase } from './helpers/files.js';

const indexFile = (root: string, fs: string) => join(root, '.ferry', 'indexes', `${fs}.json`);
const metaFile = (root: string, fs: string, snap: string) => join(root, '.ferry', 'snapshots', fs, snap, 'meta.json');

async function readIndexFile(root: string, fs: string) {
  const index = decodeIndex(await readFile(indexFile(root, fs), 'latin1'), fs);
  assert.ok(index, `${indexFile(root, fs)} is not an index of ${fs}`);
  return index;
}

async function indexedNames(root: string, fs: string): Promise<string[]> {
  return (await readIndexFile(root, fs)).versions.map((v) => v.name);
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

  it('an index of another filesystem is not trusted', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1']);
    const text = await readFile(indexFile(root, 'data'), 'latin1');
    await writeFile(indexFile(root, 'data'), text.replace('\tdata\t', '\tother\t').replace(/\n.*\n$/, '\n').replace(/\t1\n/, '\t0\n'));
    assert.deepEqual(await names(A), ['s1']);
  });

  it('an index of the older format (v1, JSON) is never read, and the next lock holder replaces it', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1', 's2']);
    const truth = await A.listVersions('data');
    // what an older ferry wrote, agreeing with the directory as it is now, but listing a snapshot there is not
    const { dir } = await readIndexFile(root, 'data');
    const v1 = { format: 'ferry-dir-index-v1', fs: 'data', dir: { ino: dir.ino, mtimeNs: dir.mtimeNs }, snapshots: [['s1', truth[0].guid, 1, null], ['bogus', 'f'.repeat(32), 2, null]] };
    await writeFile(indexFile(root, 'data'), JSON.stringify(v1));
    assert.deepEqual(await A.listVersions('data'), truth);
    await A.snapshot(['data'], 's3');
    assert.ok((await readFile(indexFile(root, 'data'), 'latin1')).startsWith(`${INDEX_FORMAT}\t`));
    assert.deepEqual(await indexedNames(root, 'data'), ['s1', 's2', 's3']);
  });

  it('a truncated or corrupted index is not trusted, and the next lock holder rebuilds it', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1', 's2', 's3']);
    const truth = await A.listVersions('data');
    const good = await readFile(indexFile(root, 'data'), 'latin1');
    // each damaged copy also gives s1 another guid: a listing that read it would show that guid
    const forged = good.replace(truth[0].guid, 'f'.repeat(32));
    const lines = forged.split('\n');
    const damaged: Record<string, string> = {
      'cut mid-line': forged.slice(0, forged.length - 5),
      'cut after a line (no final line feed)': forged.slice(0, -1),
      'a line missing': [...lines.slice(0, 2), ...lines.slice(3)].join('\n'),
      'a line too many': `${forged}s4\t${'e'.repeat(32)}\t4\n`,
      'a createtxg that is not a number': forged.replace(/\t3\t/, '\t3x\t'),
      'a field missing': forged.replace(/\t3\t[^\t\n]*\n/, '\t3\n').replace(/(s3)\t[0-9a-f]+\t/, '$1\t'),
      'a field too many': forged.replace(/(\t3\t[^\n]*)\n/, '$1\textra\n'),
      'a name that leaves the directory': forged.replace('s2\t', '../s2\t'),
      'a JSON line out of shape': forged.replace(/s2\t[^\n]*/, '["s2"]'),
      'a header out of shape': forged.replace(/\t3\n/, '\tthree\n'),
      'bytes of garbage in a name': forged.replace(/\ns3\t/, '\ns3\u0000\u00ff\t'),
    };
    for (const [what, text] of Object.entries(damaged)) {
      assert.notEqual(text, forged, what);
      await writeFile(indexFile(root, 'data'), text, 'latin1');
      assert.deepEqual(await A.listVersions('data'), truth, what);
    }
    await A.snapshot(['data'], 's4'); // a lock holder: rebuilds, then adds its own
    assert.deepEqual((await readIndexFile(root, 'data')).versions.slice(0, 3), truth);
  });

  it('a snapshot renamed around the lock is seen', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1', 's2', 's3']);
    const snaps = join(root, '.ferry', 'snapshots', 'data');
    await rename(join(snaps, 's2'), join(snaps, 's7'));
    const meta = JSON.parse(await readFile(metaFile(root, 'data', 's7'), 'utf8'));
    await writeFile(metaFile(root, 'data', 's7'), JSON.stringify({ ...meta, name: 's7' }));
    assert.deepEqual(await names(A), ['s1', 's7', 's3']);
  });

  it('a snapshot added or removed within the mtime the index recorded is still seen (link count, size)', async (t) => {
    const { root, A } = await senderWith(await tempBase(t), ['s1', 's2', 's3']);
    const snaps = join(root, '.ferry', 'snapshots', 'data');
    const { dir } = await readIndexFile(root, 'data');
    // the directory's mtime put back to what the index recorded: as if the change fell within one clock tick
    const backdate = () => {
      const ns = BigInt(dir.mtimeNs);
      const r = spawnSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, snaps]);
      assert.equal(r.status, 0, String(r.stderr));
    };
    await rm(join(snaps, 's2'), { recursive: true });
    backdate();
    assert.deepEqual(await names(A), ['s1', 's3']);
    await cp(join(snaps, 's3'), join(snaps, 's2'), { recursive: true });
    const meta = JSON.parse(await readFile(metaFile(root, 'data', 's2'), 'utf8'));
    await writeFile(metaFile(root, 'data', 's2'), JSON.stringify({ ...meta, name: 's2', guid: 'f'.repeat(32), createtxg: 99 }));
    await cp(join(snaps, 's2'), join(snaps, 's9'), { recursive: true });
    await writeFile(metaFile(root, 'data', 's9'), JSON.stringify({ ...meta, name: 's9', guid: 'e'.repeat(32), createtxg: 98 }));
    backdate();
    assert.deepEqual(await names(A), ['s1', 's3', 's9', 's2']);
  });
});
