import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import tar from 'tar-stream';
import type { LogSource, PartitionRef } from '../src/archiver/contracts.js';
import { entrySha256, extractEntry, packEntry } from '../src/archiver/entry-tar.js';
import { appendEntry, commit, createFileLogSource, createPartition, registerConsumer } from '../src/archiver/log-source/index.js';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../src/errors/index.js';
import { collect, tempBase } from './helpers/files.js';



const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readEntryBytes(source: LogSource, p: PartitionRef, lsn: number): Promise<{ bytes: Buffer; size?: number }> {
  const { stream, size } = await source.readEntry(p, lsn);
  return { bytes: await collect(stream), size };
}

async function entryNames(root: string, p: PartitionRef): Promise<string[]> {
  return (await readdir(join(root, p.storage, p.partition, 'entries'))).sort();
}

/** The headers of a tarball, in order. */
async function tarHeaders(bytes: Buffer): Promise<tar.Header[]> {
  const extract = tar.extract();
  extract.end(bytes);
  const out: tar.Header[] = [];
  for await (const entry of extract) {
    out.push(entry.header);
    entry.resume();
  }
  return out;
}

async function tarOf(entries: { name: string; type?: 'file' | 'directory' | 'symlink'; body?: string; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'directory' || e.type === 'symlink') pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  return collect(pack as unknown as AsyncIterable<Buffer>);
}

const P: PartitionRef = { storage: 'default', partition: 'p1' };

describe('file log source: appended vs committed', () => {
  it('reports only committed entries and refuses to read an uncommitted one', async (t) => {
    const root = await tempBase(t);
    const source = createFileLogSource(root);
    await appendEntry(root, P.storage, P.partition, 1, Buffer.from('one'));
    await appendEntry(root, P.storage, P.partition, 2, { MANIFEST: Buffer.from('m2'), '1': Buffer.from('pack') });
    await appendEntry(root, P.storage, P.partition, 3, Buffer.from('three'));

    let state = await source.partitionState(P);
    assert.deepEqual(state, { ...P, lowWaterMark: 1, highWaterMark: 0, positions: {} });
    await assert.rejects(source.readEntry(P, 1), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_COMMITTED' && /not committed/.test(e.message));

    await commit(root, P.storage, P.partition, 2);
    state = await source.partitionState(P);
    assert.equal(state.lowWaterMark, 1);
    assert.equal(state.highWaterMark, 2);
    assert.deepEqual(await source.listPartitions(), [state]);

    const one = await readEntryBytes(source, P, 1);
    assert.equal(one.size, one.bytes.length);
    const two = await readEntryBytes(source, P, 2);
    assert.equal(two.size, two.bytes.length);
    assert.deepEqual((await tarHeaders(two.bytes)).map((h) => h.name), ['00000000000000000002/', '00000000000000000002/1', '00000000000000000002/MANIFEST']);
    await assert.rejects(source.readEntry(P, 3), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_COMMITTED');
    await assert.rejects(source.readEntry(P, 0), InvalidArgumentError);

    await commit(root, P.storage, P.partition, 3);
    assert.equal((await source.partitionState(P)).highWaterMark, 3);
    assert.equal((await readEntryBytes(source, P, 3)).bytes.length > 0, true);
  });

  it('an empty partition has lowWaterMark committed + 1 and a missing partition is PARTITION_NOT_FOUND', async (t) => {
    const root = await tempBase(t);
    const source = createFileLogSource(root);
    assert.deepEqual(await source.listPartitions(), []);
    await createPartition(root, 's', 'empty');
    assert.deepEqual(await source.partitionState({ storage: 's', partition: 'empty' }), { storage: 's', partition: 'empty', lowWaterMark: 1, highWaterMark: 0, positions: {} });
    await assert.rejects(source.partitionState({ storage: 's', partition: 'nope' }), (e: unknown) => e instanceof PermanentError && e.code === 'PARTITION_NOT_FOUND');
    await assert.rejects(source.readEntry({ storage: 's', partition: 'empty' }, 1), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_COMMITTED');
  });

  it('appends never rewrite, commits need every entry and never go back', async (t) => {
    const root = await tempBase(t);
    await appendEntry(root, 's', 'p', 1, Buffer.from('a'));
    await assert.rejects(appendEntry(root, 's', 'p', 1, Buffer.from('b')), (e: unknown) => e instanceof PermanentError && e.code === 'ENTRY_EXISTS');
    await assert.rejects(appendEntry(root, 's', 'p', 1, { x: Buffer.from('b') }), (e: unknown) => e instanceof PermanentError && e.code === 'ENTRY_EXISTS');
    assert.equal(await readFile(join(root, 's', 'p', 'entries', '00000000000000000001'), 'utf8'), 'a');
    await assert.rejects(commit(root, 's', 'p', 2), (e: unknown) => e instanceof PermanentError && e.code === 'ENTRY_NOT_FOUND' && /entry 2/.test(e.message));
    await commit(root, 's', 'p', 1);
    await commit(root, 's', 'p', 1); // same again: no-op
    await assert.rejects(commit(root, 's', 'p', 0), (e: unknown) => e instanceof PermanentError && e.code === 'COMMIT_BACKWARDS');
    await assert.rejects(appendEntry(root, 's', 'p', 1, Buffer.from('c')), (e: unknown) => e instanceof PermanentError && e.code === 'ALREADY_COMMITTED');
    await assert.rejects(appendEntry(root, 's', 'p', 2, { '../evil': Buffer.from('x') }), InvalidArgumentError);
    // nothing staged is left behind, and staging names are never entries
    assert.deepEqual(await entryNames(root, { storage: 's', partition: 'p' }), ['00000000000000000001']);
  });
});

describe('file log source: positions and pruning', () => {
  it('acknowledged positions never move backwards and stay within the committed LSN', async (t) => {
    const root = await tempBase(t);
    const source = createFileLogSource(root);
    for (let lsn = 1; lsn <= 4; lsn++) await appendEntry(root, P.storage, P.partition, lsn, Buffer.from(`e${lsn}`));
    await commit(root, P.storage, P.partition, 3);
    await source.acknowledge(P, 'archiver', 2);
    await source.acknowledge(P, 'archiver', 1);
    assert.deepEqual((await source.partitionState(P)).positions, { archiver: 2 });
    await Promise.all([3, 1, 2, 3, 0].map((lsn) => source.acknowledge(P, 'archiver', lsn)));
    assert.deepEqual((await source.partitionState(P)).positions, { archiver: 3 });
    await assert.rejects(source.acknowledge(P, 'archiver', 4), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_COMMITTED');
    assert.equal(await readFile(join(root, P.storage, P.partition, 'positions', 'archiver'), 'utf8'), '3\n');
    // temp files of the atomic writes are gone
    assert.deepEqual(await readdir(join(root, P.storage, P.partition, 'positions')), ['archiver']);
    await assert.rejects(source.acknowledge(P, 'arch.iver', 1), (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('"arch.iver"'));
  });

  it('prunes only entries below the lowest acknowledged position of all registered consumers', async (t) => {
    const root = await tempBase(t);
    const source = createFileLogSource(root);
    for (let lsn = 1; lsn <= 8; lsn++) await appendEntry(root, P.storage, P.partition, lsn, lsn % 2 ? Buffer.from(`e${lsn}`) : { [`d/${lsn}`]: Buffer.from('x') });
    await commit(root, P.storage, P.partition, 7);

    assert.equal(await source.prune(P), 0, 'no consumer registered: nothing goes');
    await registerConsumer(root, P.storage, P.partition, 'archiver');
    await registerConsumer(root, P.storage, P.partition, 'replica');
    assert.equal(await source.prune(P), 0, 'registered at 0: nothing goes');

    await source.acknowledge(P, 'archiver', 6);
    await source.acknowledge(P, 'replica', 3);
    assert.equal(await source.prune(P), 2);
    assert.deepEqual(await entryNames(root, P), [3, 4, 5, 6, 7, 8].map((n) => String(n).padStart(20, '0')));
    assert.equal((await source.partitionState(P)).lowWaterMark, 3);
    await assert.rejects(source.readEntry(P, 2), (e: unknown) => e instanceof PermanentError && e.code === 'ENTRY_NOT_FOUND' && /pruned/.test(e.message));
    assert.equal(await source.prune(P), 0, 'pruning again removes nothing more');

    await source.acknowledge(P, 'replica', 7);
    assert.equal(await source.prune(P), 3, 'now bounded by archiver at 6: 3, 4, 5 go');
    assert.deepEqual(await entryNames(root, P), [6, 7, 8].map((n) => String(n).padStart(20, '0')));

    await source.acknowledge(P, 'archiver', 7);
    assert.equal(await source.prune(P), 1);
    // 7 is acknowledged but stays (strictly below); 8 is not committed and never touched
    assert.deepEqual(await entryNames(root, P), [7, 8].map((n) => String(n).padStart(20, '0')));
    const state = await source.partitionState(P);
    assert.deepEqual(state, { ...P, lowWaterMark: 7, highWaterMark: 7, positions: { archiver: 7, replica: 7 } });
  });

  it('removes entries a crashed prune left renamed aside', async (t) => {
    const root = await tempBase(t);
    const source = createFileLogSource(root);
    await appendEntry(root, P.storage, P.partition, 1, Buffer.from('x'));
    await commit(root, P.storage, P.partition, 1);
    await registerConsumer(root, P.storage, P.partition, 'archiver');
    const aside = join(root, P.storage, P.partition, 'entries', '.pruned-00000000000000000000-abc');
    await mkdir(join(aside, 'sub'), { recursive: true });
    assert.equal(await source.prune(P), 0);
    assert.deepEqual(await entryNames(root, P), ['00000000000000000001']);
  });
});

describe('deterministic entry tarballs', () => {
  it('the same content gives the same bytes, whatever the mtimes, modes and write order', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a', '00000000000000000007');
    const b = join(base, 'b', '00000000000000000007');
    await mkdir(join(a, 'objects', 'pack'), { recursive: true });
    await writeFile(join(a, 'MANIFEST'), 'manifest');
    await writeFile(join(a, 'objects', 'pack', 'p.pack'), Buffer.alloc(1000, 7));
    await mkdir(join(a, 'empty'));
    await mkdir(join(b, 'empty'), { recursive: true });
    await mkdir(join(b, 'objects', 'pack'), { recursive: true });
    await writeFile(join(b, 'objects', 'pack', 'p.pack'), Buffer.alloc(1000, 7));
    await writeFile(join(b, 'MANIFEST'), 'manifest');
    await chmod(join(b, 'MANIFEST'), 0o600);
    await chmod(join(b, 'objects'), 0o700);
    await utimes(join(b, 'MANIFEST'), new Date(2001, 1, 1), new Date(2001, 1, 1));

    const ha = await entrySha256(a);
    const hb = await entrySha256(b);
    assert.equal(ha.sha256, hb.sha256);
    assert.equal(ha.sha256, (await entrySha256(a)).sha256, 'packing twice gives the same bytes');

    const { stream, size } = await packEntry(a);
    const bytes = await collect(stream);
    assert.equal(size, bytes.length);
    assert.equal(sha(bytes), ha.sha256);
    const headers = await tarHeaders(bytes);
    assert.deepEqual(headers.map((h) => h.name), [
      '00000000000000000007/', '00000000000000000007/MANIFEST', '00000000000000000007/empty/',
      '00000000000000000007/objects/', '00000000000000000007/objects/pack/', '00000000000000000007/objects/pack/p.pack',
    ]);
    for (const h of headers) {
      assert.equal(h.mtime.getTime(), 0);
      assert.equal(h.uid, 0);
      assert.equal(h.gid, 0);
      assert.equal(h.uname, '');
      assert.equal(h.gname, '');
      assert.equal(h.mode, h.type === 'directory' ? 0o755 : 0o644);
    }

    await writeFile(join(b, 'MANIFEST'), 'manifesT');
    assert.notEqual((await entrySha256(b)).sha256, ha.sha256, 'changed content, different tarball');
    await writeFile(join(b, 'MANIFEST'), 'manifest');
    await writeFile(join(b, 'extra'), '');
    assert.notEqual((await entrySha256(b)).sha256, ha.sha256, 'an added empty file changes the tarball');
  });

  it('reports the exact size for long and non-ASCII names, and refuses symlinks', async (t) => {
    const base = await tempBase(t);
    const e = join(base, '00000000000000000001');
    const long = 'd'.repeat(90);
    await mkdir(join(e, long, long), { recursive: true });
    await writeFile(join(e, long, long, 'f'.repeat(99)), 'x'.repeat(513));
    await writeFile(join(e, 'g'.repeat(120)), 'y');
    await writeFile(join(e, 'héllo-ünïcode'), 'z');
    const { stream, size } = await packEntry(e);
    const bytes = await collect(stream);
    assert.equal(size, bytes.length);

    const into = join(base, 'out');
    const got = await extractEntry(Readable.from([bytes]), into, { name: '00000000000000000001' });
    assert.equal(got.sha256, sha(bytes));
    assert.equal(await readFile(join(into, '00000000000000000001', long, long, 'f'.repeat(99)), 'utf8'), 'x'.repeat(513));
    assert.equal(await readFile(join(into, '00000000000000000001', 'héllo-ünïcode'), 'utf8'), 'z');

    await symlink('/etc/passwd', join(e, 'link'));
    await assert.rejects(packEntry(e), (err: unknown) => err instanceof PermanentError && err.code === 'UNSUPPORTED_ENTRY');
  });

  it('extraction refuses absolute paths, "..", entries outside the root and other types', async (t) => {
    const base = await tempBase(t);
    const cases: [string, Parameters<typeof tarOf>[0]][] = [
      ['absolute', [{ name: '/etc/evil' }]],
      ['dotdot', [{ name: 'e/', type: 'directory' }, { name: 'e/../../evil' }]],
      ['dotdot-root', [{ name: '../evil' }]],
      ['outside', [{ name: 'e/', type: 'directory' }, { name: 'other/x' }]],
      ['symlink', [{ name: 'e/', type: 'directory' }, { name: 'e/l', type: 'symlink', linkname: '/etc' }]],
      ['after-file', [{ name: 'e' }, { name: 'e/x' }]],
      ['no-parent', [{ name: 'e/', type: 'directory' }, { name: 'e/a/b' }]],
    ];
    for (const [label, entries] of cases) {
      const into = join(base, label, 'into');
      await assert.rejects(extractEntry(Readable.from([await tarOf(entries)]), into), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_TAR', label);
    }
    for (const [label] of cases) assert.deepEqual(await readdir(join(base, label)), ['into'], `${label}: nothing was written next to the target`);
    await assert.rejects(extractEntry(Readable.from([await tarOf([{ name: 'x' }])]), join(base, 'n'), { name: 'y' }), (e: unknown) => e instanceof PermanentError && e.code === 'ENTRY_NAME_MISMATCH');
    const whole = await tarOf([{ name: 'e', body: 'x'.repeat(3000) }]);
    await assert.rejects(extractEntry(Readable.from([whole.subarray(0, 1500)]), join(base, 't')), (e: unknown) => e instanceof TemporaryError && e.code === 'TRUNCATED_STREAM');
    await assert.rejects(extractEntry(Readable.from([Buffer.alloc(1024, 65)]), join(base, 'g')), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_TAR');
  });
});

describe('file log source: names', () => {
  it('refuses invalid storage, partition and consumer names, naming the value', async (t) => {
    const root = await tempBase(t);
    const source = createFileLogSource(root);
    for (const bad of ['../x', 'a/b', '', '.hidden', 'a.b', 'sp ace', 'x\0y']) {
      const named = (e: unknown) => e instanceof InvalidArgumentError && e.code === 'INVALID_NAME' && e.message.includes(JSON.stringify(bad));
      await assert.rejects(source.partitionState({ storage: bad, partition: 'p' }), named, `storage ${JSON.stringify(bad)}`);
      await assert.rejects(source.readEntry({ storage: 's', partition: bad }, 1), named, `partition ${JSON.stringify(bad)}`);
      await assert.rejects(source.acknowledge({ storage: 's', partition: 'p' }, bad, 1), named, `consumer ${JSON.stringify(bad)}`);
      await assert.rejects(source.prune({ storage: bad, partition: 'p' }), named);
      await assert.rejects(appendEntry(root, bad, 'p', 1, Buffer.from('x')), named);
      await assert.rejects(commit(root, 's', bad, 1), named);
    }
    assert.deepEqual(await readdir(root), [], 'nothing was created');
    // directories with invalid names under the root are not partitions
    await mkdir(join(root, 'bad.name', 'p'), { recursive: true });
    await createPartition(root, 'good', 'p-1_x');
    assert.deepEqual((await source.listPartitions()).map((p) => `${p.storage}/${p.partition}`), ['good/p-1_x']);
  });
});
