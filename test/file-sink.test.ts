import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { entryKey, type LogSource, type PartitionRef, type Sink } from '../src/archiver/contracts.js';
import { appendEntry, commit, createFileLogSource, type EntryContent } from '../src/archiver/log-source/index.js';
import { restorePartition, type RestoreProgress } from '../src/archiver/restore.js';
import { classifySinkError, createFileSink } from '../src/archiver/sinks/file-sink.js';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../src/errors/index.js';
import { collect, tempBase } from './helpers/files.js';



const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const info = (b: Buffer) => ({ sha256: sha(b), size: b.length });
const sinkUrl = (dir: string) => pathToFileURL(dir).href;

/** Every file and directory under `dir`: path -> "dir" | "file <sha256>". */
async function treeOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function visit(abs: string, rel: string): Promise<void> {
    for (const name of (await readdir(abs)).sort()) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(a);
      if (st.isDirectory()) {
        out[r] = 'dir';
        await visit(a, r);
      } else out[r] = `file ${sha(await readFile(a))}`;
    }
  }
  await visit(dir, '');
  return out;
}

/** What the archiver does for each committed entry, without the machines. */
async function archiveAll(source: LogSource, sink: Sink, p: PartitionRef): Promise<void> {
  const state = await source.partitionState(p);
  for (let lsn = state.lowWaterMark; lsn <= state.highWaterMark; lsn++) {
    const { stream, size } = await source.readEntry(p, lsn);
    const body = await collect(stream);
    assert.equal(size, body.length);
    await sink.put(entryKey(p, lsn), body, info(body));
  }
}

describe('file sink', () => {
  it('put, head, get and list; the root is created on the first put', async (t) => {
    const base = await tempBase(t);
    const sink = createFileSink(sinkUrl(join(base, 'not', 'yet')));
    assert.equal(await sink.head('s/p/00000000000000000001.tar'), null);
    assert.deepEqual(await sink.list(''), []);
    const a = Buffer.from('first object');
    const b = Buffer.alloc(300_000, 3);
    await sink.put('s/p1/00000000000000000002.tar', b, info(b));
    await sink.put('s/p1/00000000000000000001.tar', Readable.from([a.subarray(0, 5), a.subarray(5)]), info(a));
    await sink.put('s/p10/00000000000000000001.tar', a, info(a));
    await sink.put('t/p1/00000000000000000001.tar', a, info(a));

    assert.deepEqual(await sink.head('s/p1/00000000000000000001.tar'), { key: 's/p1/00000000000000000001.tar', size: a.length, sha256: sha(a) });
    assert.deepEqual(await sink.head('s/p1/00000000000000000002.tar'), { key: 's/p1/00000000000000000002.tar', size: b.length, sha256: sha(b) });
    assert.deepEqual(await collect(await sink.get('s/p1/00000000000000000002.tar')), b);
    await assert.rejects(sink.get('s/p1/00000000000000000003.tar'), (e: unknown) => e instanceof PermanentError && e.code === 'OBJECT_NOT_FOUND');

    assert.deepEqual(await sink.list('s/p1/'), ['s/p1/00000000000000000001.tar', 's/p1/00000000000000000002.tar']);
    assert.deepEqual(await sink.list('s/p1'), ['s/p1/00000000000000000001.tar', 's/p1/00000000000000000002.tar', 's/p10/00000000000000000001.tar']);
    assert.deepEqual(await sink.list(''), [
      's/p1/00000000000000000001.tar', 's/p1/00000000000000000002.tar', 's/p10/00000000000000000001.tar', 't/p1/00000000000000000001.tar',
    ]);
    // the checksum is kept beside the object, in sha256sum format; no temp file is left
    assert.equal(await readFile(join(base, 'not', 'yet', 's', 'p1', '00000000000000000001.tar.sha256'), 'utf8'), `${sha(a)}  00000000000000000001.tar\n`);
    assert.deepEqual((await readdir(join(base, 'not', 'yet', 's', 'p1'))).sort(), [
      '00000000000000000001.tar', '00000000000000000001.tar.sha256', '00000000000000000002.tar', '00000000000000000002.tar.sha256',
    ]);

    // head hashes the stored bytes when the checksum file is missing (a crash between the two)
    await unlink(join(base, 'not', 'yet', 's', 'p1', '00000000000000000001.tar.sha256'));
    assert.equal((await sink.head('s/p1/00000000000000000001.tar'))?.sha256, sha(a));
  });

  it('put never overwrites an existing object', async (t) => {
    const base = await tempBase(t);
    const sink = createFileSink(sinkUrl(base));
    const key = 's/p/00000000000000000001.tar';
    const a = Buffer.from('original');
    const b = Buffer.from('something else');
    await sink.put(key, a, info(a));
    await sink.put(key, b, info(b));
    await sink.put(key, Readable.from([b]), info(b));
    assert.deepEqual(await collect(await sink.get(key)), a);
    assert.deepEqual(await sink.head(key), { key, size: a.length, sha256: sha(a) });
    // concurrent puts of one key: exactly one content wins, whole
    const key2 = 's/p/00000000000000000002.tar';
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(100_000, i));
    await Promise.all(bodies.map((body) => sink.put(key2, body, info(body))));
    const stored = await collect(await sink.get(key2));
    assert.ok(bodies.some((body) => body.equals(stored)));
    assert.equal((await sink.head(key2))?.sha256, sha(stored));
    assert.deepEqual((await readdir(join(base, 's', 'p'))).filter((n) => n.startsWith('.')), []);
  });

  it('a put whose body fails halfway, or does not match its checksum, leaves no object', async (t) => {
    const base = await tempBase(t);
    const sink = createFileSink(sinkUrl(base));
    const key = 's/p/00000000000000000001.tar';
    const full = Buffer.alloc(200_000, 9);
    const boom = new Error('log source read failed');
    async function* failing(): AsyncGenerator<Buffer> {
      yield full.subarray(0, 100_000);
      throw boom;
    }
    await assert.rejects(sink.put(key, Readable.from(failing()), info(full)), (e: unknown) => e === boom);
    assert.equal(await sink.head(key), null);
    assert.deepEqual(await sink.list(''), []);
    assert.deepEqual(await readdir(join(base, 's', 'p')), [], 'no temp file is left');

    await assert.rejects(sink.put(key, full.subarray(1), info(full)), (e: unknown) => e instanceof PermanentError && e.code === 'CHECKSUM_MISMATCH');
    assert.equal(await sink.head(key), null);

    const ac = new AbortController();
    async function* slow(): AsyncGenerator<Buffer> {
      yield full.subarray(0, 1000);
      ac.abort(new Error('aborted by test'));
      await new Promise((r) => setTimeout(r, 20));
      yield full.subarray(1000);
    }
    await assert.rejects(sink.put(key, Readable.from(slow()), info(full), ac.signal));
    assert.equal(await sink.head(key), null);
    assert.deepEqual(await readdir(join(base, 's', 'p')), []);
  });

  it('removeOrphans removes the temp files of dead puts older than the age given; a live put whose temp file it took fails temporarily', async (t) => {
    const base = await tempBase(t);
    const sink = createFileSink(sinkUrl(base));
    const dir = join(base, 's', 'p');
    await mkdir(dir, { recursive: true });
    const names = ['.00000000000000000001.tar.tmp-0123456789ab', '.00000000000000000001.tar.sha256.tmp-abcdef', '.00000000000000000002.tar.tmp-ffff'];
    for (const n of names) await writeFile(join(dir, n), 'partial');
    await writeFile(join(dir, '.notes'), 'not a temp file of the sink');
    const old = new Date(Date.now() - 3 * 3600_000);
    await utimes(join(dir, names[0]), old, old);
    await utimes(join(dir, names[1]), old, old);
    assert.equal(await sink.removeOrphans!(3600_000), 2);
    assert.deepEqual((await readdir(dir)).sort(), ['.00000000000000000002.tar.tmp-ffff', '.notes']);
    assert.equal(await sink.removeOrphans!(0), 1, 'age 0: every temp file');
    assert.equal(await createFileSink(sinkUrl(join(base, 'none'))).removeOrphans!(0), 0, 'a sink never written to has none');

    // a put still writing when its temp file is taken: nothing is stored, and the error says retry
    const key = 's/p/00000000000000000003.tar';
    const full = Buffer.alloc(10_000, 7);
    async function* cleanedMidWrite(): AsyncGenerator<Buffer> {
      yield full.subarray(0, 5000);
      // the put's temp file, made to look abandoned: its age, not a race with the clock, decides
      const temps = (await readdir(dir)).filter((n) => n.includes('.tmp-'));
      assert.equal(temps.length, 1, `the put's temp file: ${temps.join(', ')}`);
      await utimes(join(dir, temps[0]), old, old);
      assert.equal(await sink.removeOrphans!(3600_000), 1);
      yield full.subarray(5000);
    }
    await assert.rejects(sink.put(key, Readable.from(cleanedMidWrite()), info(full)), (e: unknown) => e instanceof TemporaryError && e.code === 'SINK_TEMP_REMOVED');
    assert.equal(await sink.head(key), null);
    await sink.put(key, full, info(full));
    assert.equal((await sink.head(key))?.sha256, sha(full), 'the retry stores it');
  });

  it('refuses invalid URLs and keys; classifies filesystem errors', async (t) => {
    const base = await tempBase(t);
    for (const url of ['s3://bucket/x', 'file://host/abs', 'file:///', 'not a url', `${sinkUrl(base)}?x=1`]) {
      assert.throws(() => createFileSink(url), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'INVALID_SINK_URL', url);
    }
    const sink = createFileSink(sinkUrl(base));
    const b = Buffer.from('x');
    for (const key of ['', '/abs', 'a/../b', 'a//b', 's/.hidden', 's/p/x.tar.sha256', 'a/./b']) {
      await assert.rejects(sink.put(key, b, info(b)), InvalidArgumentError, key);
      await assert.rejects(sink.head(key), InvalidArgumentError, key);
    }
    assert.deepEqual(await readdir(base), []);

    const errno = (code: string) => Object.assign(new Error(`${code}: failed`), { code });
    for (const code of ['ENOSPC', 'EIO', 'EDQUOT']) {
      const e = classifySinkError(errno(code), 'put k');
      assert.ok(e instanceof TemporaryError && e.code === 'SINK_UNAVAILABLE', code);
    }
    for (const code of ['EACCES', 'EPERM', 'EROFS']) {
      const e = classifySinkError(errno(code), 'put k');
      assert.ok(e instanceof PermanentError && e.code === 'SINK_PERMISSION_DENIED', code);
    }

    // a sink root that is a file: permanent, not a retry
    await writeFile(join(base, 'file'), 'x');
    const broken = createFileSink(sinkUrl(join(base, 'file')));
    await assert.rejects(broken.put('s/p/00000000000000000001.tar', b, info(b)), (e: unknown) => e instanceof PermanentError && e.code === 'SINK_ERROR');
  });

  it('an unwritable root is a PermanentError (skipped as root, who may write anywhere)', { skip: process.getuid?.() === 0 }, async (t) => {
    const base = await tempBase(t);
    const { chmod } = await import('node:fs/promises');
    await mkdir(join(base, 'ro'));
    await chmod(join(base, 'ro'), 0o500);
    const sink = createFileSink(sinkUrl(join(base, 'ro')));
    const b = Buffer.from('x');
    await assert.rejects(sink.put('s/p/00000000000000000001.tar', b, info(b)), (e: unknown) => e instanceof PermanentError && e.code === 'SINK_PERMISSION_DENIED');
  });
});

describe('restore', () => {
  const P: PartitionRef = { storage: 'default', partition: 'p7' };
  const contents: EntryContent[] = [
    Buffer.from('file entry one'),
    { MANIFEST: Buffer.from('manifest 2'), '1': Buffer.alloc(5000, 1), 'objects/pack/x.pack': Buffer.alloc(70_000, 2) },
    Buffer.alloc(0),
    { 'only/deep/file': Buffer.from('deep') },
    Buffer.alloc(1_000_000, 5),
  ];

  async function setup(t: { after: (fn: () => Promise<void>) => void }) {
    const base = await tempBase(t);
    const log = join(base, 'log');
    for (const [i, c] of contents.entries()) await appendEntry(log, P.storage, P.partition, i + 1, c);
    await commit(log, P.storage, P.partition, contents.length);
    const source = createFileLogSource(log);
    const sink = createFileSink(sinkUrl(join(base, 'archive')));
    await archiveAll(source, sink, P);
    return { base, log, source, sink, entriesDir: join(log, P.storage, P.partition, 'entries') };
  }

  it('round trip: the restored tree equals the source entries, files and directories', async (t) => {
    const { base, sink, entriesDir } = await setup(t);
    const into = join(base, 'restored', P.storage, P.partition, 'entries');
    const progress: RestoreProgress[] = [];
    const r = await restorePartition({ sink, ...P, into, onProgress: (p) => progress.push(p) });
    assert.deepEqual(r, { restored: 5, firstLsn: 1, lastLsn: 5 });
    assert.deepEqual(progress.map((p) => [p.lsn, p.restored, p.total, p.present]), [1, 2, 3, 4, 5].map((n) => [n, n, 5, false]));
    assert.deepEqual(await treeOf(into), await treeOf(entriesDir));

    // the restored tree is a log source's entries directory: same deterministic tarballs
    await writeFile(join(base, 'restored', P.storage, P.partition, 'committed'), '5\n');
    const again = createFileLogSource(join(base, 'restored'));
    for (let lsn = 1; lsn <= 5; lsn++) {
      const { stream } = await again.readEntry(P, lsn);
      assert.equal(sha(await collect(stream)), (await sink.head(entryKey(P, lsn)))?.sha256);
    }

    // a range, and a re-run over entries already there: nothing is overwritten, nothing fails
    const part = join(base, 'part');
    assert.deepEqual(await restorePartition({ sink, ...P, fromLsn: 2, toLsn: 3, into: part }), { restored: 2, firstLsn: 2, lastLsn: 3 });
    assert.deepEqual(Object.keys(await treeOf(part)).filter((k) => !k.includes('/')), ['00000000000000000002', '00000000000000000003']);
    const rerun: boolean[] = [];
    await restorePartition({ sink, ...P, into, onProgress: (p) => rerun.push(p.present) });
    assert.deepEqual(rerun, [true, true, true, true, true]);

    // different content in the target is a conflict, never overwritten
    await writeFile(join(part, '00000000000000000003'), 'changed');
    await assert.rejects(restorePartition({ sink, ...P, fromLsn: 3, toLsn: 3, into: part }), (e: unknown) => e instanceof PermanentError && e.code === 'RESTORE_CONFLICT');
    assert.equal(await readFile(join(part, '00000000000000000003'), 'utf8'), 'changed');
  });

  it('stops at a gap with GAP naming the missing LSN; entries before it stay restored', async (t) => {
    const { base, sink } = await setup(t);
    const objects = join(base, 'archive', P.storage, P.partition);
    await unlink(join(objects, '00000000000000000003.tar'));
    await unlink(join(objects, '00000000000000000003.tar.sha256'));
    const into = join(base, 'into');
    await assert.rejects(restorePartition({ sink, ...P, into }), (e: unknown) => {
      assert.ok(e instanceof PermanentError);
      assert.equal(e.code, 'GAP');
      assert.match(e.message, /LSN 3 is not archived/);
      assert.match(e.message, /entries 1\.\.2 \(2\) were restored/);
      assert.equal(e.details.missingLsn, 3);
      assert.equal(e.details.nextArchivedLsn, 4);
      return true;
    });
    assert.deepEqual((await readdir(into)).sort(), ['00000000000000000001', '00000000000000000002']);

    // a range starting in the gap, and one reaching past the highest archived LSN
    await assert.rejects(restorePartition({ sink, ...P, fromLsn: 3, into: join(base, 'x') }), (e: unknown) => e instanceof PermanentError && e.code === 'GAP' && e.details.missingLsn === 3 && /nothing was restored/.test(e.message));
    await assert.rejects(restorePartition({ sink, ...P, fromLsn: 4, toLsn: 6, into: join(base, 'y') }), (e: unknown) => e instanceof PermanentError && e.code === 'GAP' && e.details.missingLsn === 6);
    assert.deepEqual((await readdir(join(base, 'y'))).sort(), ['00000000000000000004', '00000000000000000005']);
  });

  it('verifies every object against its checksum and refuses bad arguments', async (t) => {
    const { base, sink } = await setup(t);
    const object = join(base, 'archive', P.storage, P.partition, '00000000000000000002.tar');
    const bytes = await readFile(object);
    bytes[bytes.length - 2000] ^= 1; // inside file content of entry 2
    await unlink(object);
    await writeFile(object, bytes); // the checksum file still has the archived sha256
    const into = join(base, 'into');
    await assert.rejects(restorePartition({ sink, ...P, into }), (e: unknown) => e instanceof PermanentError && e.code === 'CHECKSUM_MISMATCH');
    assert.deepEqual(await readdir(into), ['00000000000000000001'], 'the corrupt entry is not in place, no staging is left');

    await assert.rejects(restorePartition({ sink, storage: '../x', partition: 'p', into }), (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('"../x"'));
    await assert.rejects(restorePartition({ sink, ...P, fromLsn: 3, toLsn: 2, into }), InvalidArgumentError);
    await assert.rejects(restorePartition({ sink, storage: 'default', partition: 'none', into }), (e: unknown) => e instanceof PermanentError && e.code === 'NOTHING_ARCHIVED');
  });
});
