import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import tar from 'tar-stream';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../src/errors/index.js';
import type { StorageDriver, Version } from '../src/storage/driver.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { acquireLease, DEFAULT_LOCK_LEASE_MS } from '../src/storage/dir/lock.js';
import { MAX_HEADER_BYTES } from '../src/storage/dir/stream-format.js';
import { planReplication } from '../src/replication/planner.js';
import { collect, lockIsFree, tempBase, treeOf } from './helpers/files.js';

// ---- helpers -------------------------------------------------------------------------------


async function sendBytes(driver: StorageDriver, fs: string, from: Version | null, to: Version): Promise<{ bytes: Buffer; sizeEstimate?: number }> {
  const { stream, sizeEstimate } = await driver.send(fs, from, to);
  return { bytes: await collect(stream), sizeEstimate };
}

/** The JSON header of a dir stream (its first tar entry). */
async function streamHeader(bytes: Buffer): Promise<{ ops: { op: string; path: string; from?: string }[]; from: Version | null; to: Version }> {
  const extract = tar.extract();
  extract.end(bytes);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    extract.destroy();
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }
  throw new Error('empty stream');
}

const snapData = (root: string, fs: string, snap: string) => join(root, '.ferry', 'snapshots', fs, snap, 'data');

/** What is left in <root>/.ferry/tmp: nothing once every snapshot, receive or destroy has ended. */
async function stagingLeft(root: string): Promise<string[]> {
  return existsSync(join(root, '.ferry', 'tmp')) ? readdir(join(root, '.ferry', 'tmp')) : [];
}

async function ino(path: string): Promise<number> {
  return (await lstat(path)).ino;
}

async function receiveBytes(driver: StorageDriver, fs: string, bytes: Buffer): Promise<Version> {
  return driver.receive(fs, Readable.from([bytes]));
}

/** A sender root with one filesystem `data` holding every kind of entry. */
async function populate(root: string): Promise<string> {
  const fs = join(root, 'data');
  await mkdir(join(fs, 'docs'), { recursive: true });
  await writeFile(join(fs, 'docs', 'readme.txt'), 'hello\n');
  await writeFile(join(fs, 'docs', 'empty.txt'), '');
  await mkdir(join(fs, 'bin'));
  await writeFile(join(fs, 'bin', 'tool.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(fs, 'bin', 'tool.sh'), 0o755);
  await writeFile(join(fs, 'secret'), 'password');
  await chmod(join(fs, 'secret'), 0o600);
  await mkdir(join(fs, 'emptydir'));
  await mkdir(join(fs, 'nested', 'a', 'b'), { recursive: true });
  await writeFile(join(fs, 'nested', 'a', 'b', 'c.txt'), 'deep');
  await symlink('docs/readme.txt', join(fs, 'link'));
  await symlink('/nonexistent/target', join(fs, 'dangling'));
  await writeFile(join(fs, 'big.bin'), randomBytes(20 * 1024 * 1024));
  await writeFile(join(fs, 'keep.txt'), 'unchanged');
  await mkdir(join(fs, 'olddir', 'y'), { recursive: true });
  await writeFile(join(fs, 'olddir', 'x.txt'), 'x');
  await writeFile(join(fs, 'olddir', 'y', 'z.txt'), 'z');
  await writeFile(join(fs, 'typechange'), 'a file for now');
  await mkdir(join(fs, 'dirmode'));
  await chmod(join(fs, 'dirmode'), 0o755);
  return fs;
}

async function assertRejectsWith(promise: Promise<unknown>, cls: Function, match?: RegExp | string, code?: string): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  const err = caught as Error & { code?: string };
  if (typeof match === 'string') assert.ok(err.message.includes(match), `message ${JSON.stringify(err.message)} should name ${match}`);
  else if (match) assert.match(err.message, match);
  if (code) assert.equal(err.code, code);
  return err;
}

// ---- tests ---------------------------------------------------------------------------------

describe('dir driver', () => {
  it('round-trips full and incremental sends, sharing unchanged files between snapshots', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    const b = join(base, 'b'); // does not exist yet: receive creates it
    await mkdir(a);
    const live = await populate(a);
    const A = createDirDriver(a);
    const B = createDirDriver(b);
    assert.equal(A.endpoint, `dir:${a}`);
    assert.equal(A.kind, 'dir');

    const [s1] = await A.snapshot(['data'], 's1');
    assert.match(s1.guid, /^[0-9a-f]{32}$/);
    assert.deepEqual(await treeOf(snapData(a, 'data', 's1')), await treeOf(live));

    const full = await sendBytes(A, 'data', null, s1);
    assert.ok(full.bytes.length > 20 * 1024 * 1024);
    assert.equal(full.sizeEstimate, full.bytes.length);
    const r1 = await receiveBytes(B, 'data', full.bytes);
    assert.equal(r1.guid, s1.guid);
    assert.equal(r1.name, 's1');
    assert.ok((await lstat(join(b, 'data'))).isSymbolicLink());
    assert.deepEqual(await treeOf(join(b, 'data')), await treeOf(snapData(a, 'data', 's1')));
    assert.deepEqual(await B.listFilesystems(), ['data']);

    // Every kind of change.
    await mkdir(join(live, 'moved'));
    await rename(join(live, 'big.bin'), join(live, 'moved', 'big-renamed.bin'));
    await rm(join(live, 'olddir'), { recursive: true });
    await writeFile(join(live, 'new-empty'), '');
    await writeFile(join(live, 'docs', 'readme.txt'), 'hello again\n');
    await chmod(join(live, 'secret'), 0o640);
    await chmod(join(live, 'dirmode'), 0o700);
    await rm(join(live, 'link'));
    await symlink('keep.txt', join(live, 'link'));
    await rm(join(live, 'typechange'));
    await mkdir(join(live, 'typechange'));
    await writeFile(join(live, 'typechange', 'inner.txt'), 'now a directory');
    await symlink('moved', join(live, 'newlink'));
    await mkdir(join(live, 'emptydir2'));

    const [s2] = await A.snapshot(['data'], 's2');
    assert.ok(s2.createtxg > s1.createtxg);
    assert.notEqual(s2.guid, s1.guid);
    assert.deepEqual(await treeOf(snapData(a, 'data', 's2')), await treeOf(live));
    // Unchanged files are shared with the previous snapshot, changed ones are not.
    assert.equal(await ino(join(snapData(a, 'data', 's2'), 'keep.txt')), await ino(join(snapData(a, 'data', 's1'), 'keep.txt')));
    assert.equal(await ino(join(snapData(a, 'data', 's2'), 'nested/a/b/c.txt')), await ino(join(snapData(a, 'data', 's1'), 'nested/a/b/c.txt')));
    assert.notEqual(await ino(join(snapData(a, 'data', 's2'), 'docs/readme.txt')), await ino(join(snapData(a, 'data', 's1'), 'docs/readme.txt')));
    assert.notEqual(await ino(join(snapData(a, 'data', 's2'), 'secret')), await ino(join(snapData(a, 'data', 's1'), 'secret')));
    // The live tree is not linked to the snapshot: editing it leaves the snapshot alone.
    assert.notEqual(await ino(join(live, 'keep.txt')), await ino(join(snapData(a, 'data', 's2'), 'keep.txt')));

    const incr = await sendBytes(A, 'data', s1, s2);
    assert.equal(incr.sizeEstimate, incr.bytes.length);
    // The 20 MiB file was renamed: the stream carries a rename op and not its content.
    assert.ok(incr.bytes.length < 256 * 1024, `incremental stream is ${incr.bytes.length} bytes`);
    const header = await streamHeader(incr.bytes);
    assert.equal(header.from?.guid, s1.guid);
    assert.equal(header.to.guid, s2.guid);
    assert.ok(header.ops.some((op) => op.op === 'rename' && op.from === 'big.bin' && op.path === 'moved/big-renamed.bin'));
    assert.ok(header.ops.some((op) => op.op === 'delete' && op.path === 'olddir'));
    assert.ok(!header.ops.some((op) => op.op === 'delete' && op.path === 'olddir/x.txt'), 'only the topmost deleted path is sent');
    assert.ok(header.ops.some((op) => op.op === 'chmod' && op.path === 'secret'));
    assert.ok(!header.ops.some((op) => op.op === 'write' && op.path === 'secret'), 'a mode change carries no content');
    assert.ok(!header.ops.some((op) => op.path === 'keep.txt'));

    const r2 = await receiveBytes(B, 'data', incr.bytes);
    assert.equal(r2.guid, s2.guid);
    assert.deepEqual(await treeOf(join(b, 'data')), await treeOf(snapData(a, 'data', 's2')));
    // The receiver keeps the sender's guids and names, in the same order, with its own createtxg.
    const bVersions = await B.listVersions('data');
    assert.deepEqual(bVersions.map((v) => [v.name, v.guid]), [['s1', s1.guid], ['s2', s2.guid]]);
    assert.ok(bVersions[0].createtxg < bVersions[1].createtxg);
    // The receiver shares unchanged and renamed files with its previous version...
    assert.equal(await ino(join(snapData(b, 'data', 's2'), 'keep.txt')), await ino(join(snapData(b, 'data', 's1'), 'keep.txt')));
    assert.equal(await ino(join(snapData(b, 'data', 's2'), 'moved/big-renamed.bin')), await ino(join(snapData(b, 'data', 's1'), 'big.bin')));
    // ...without ever changing it: its s1 is still exactly the sender's s1 (the chmod of `secret` did not leak).
    assert.deepEqual(await treeOf(snapData(b, 'data', 's1')), await treeOf(snapData(a, 'data', 's1')));
    assert.deepEqual(await stagingLeft(b), []);

    // The receiver can itself be a sender (a cascade A -> B -> C), streaming straight from send to receive.
    const c = join(base, 'c');
    const C = createDirDriver(c);
    await C.receive('data', (await B.send('data', null, bVersions[0])).stream);
    await C.receive('data', (await B.send('data', bVersions[0], bVersions[1])).stream);
    assert.deepEqual(await treeOf(join(c, 'data')), await treeOf(snapData(a, 'data', 's2')));
    assert.deepEqual((await C.listVersions('data')).map((v) => v.guid), [s1.guid, s2.guid]);
  });

  it('destroys one snapshot: the others keep the files they share with it, and later incremental replication still works', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    const b = join(base, 'b');
    const live = join(a, 'data');
    await mkdir(join(live, 'ro'), { recursive: true });
    await writeFile(join(live, 'keep.txt'), 'never changes');
    await writeFile(join(live, 'ro', 'locked.txt'), 'read-only, in a read-only directory');
    await chmod(join(live, 'ro', 'locked.txt'), 0o400);
    await chmod(join(live, 'ro'), 0o555);
    await writeFile(join(live, 'change.txt'), 'v1');
    const A = createDirDriver(a);
    const B = createDirDriver(b);
    const [s1] = await A.snapshot(['data'], 's1');
    await writeFile(join(live, 'change.txt'), 'v2');
    const [s2] = await A.snapshot(['data'], 's2');
    await writeFile(join(live, 'new.txt'), 'added in s3');
    const [s3] = await A.snapshot(['data'], 's3');
    await receiveBytes(B, 'data', (await sendBytes(A, 'data', null, s1)).bytes);
    await receiveBytes(B, 'data', (await sendBytes(A, 'data', s1, s2)).bytes);

    // s1 holds the first copies of the files s2 and s3 share: removing it leaves their inodes, contents and modes
    const trees = { s2: await treeOf(snapData(a, 'data', 's2')), s3: await treeOf(snapData(a, 'data', 's3')) };
    const keepIno = await ino(join(snapData(a, 'data', 's3'), 'keep.txt'));
    assert.equal(await ino(join(snapData(a, 'data', 's1'), 'keep.txt')), keepIno, 'the snapshots share the unchanged file');
    assert.equal((await lstat(join(snapData(a, 'data', 's1'), 'ro', 'locked.txt'))).nlink, 3);
    await A.destroySnapshot('data', 's1');
    assert.deepEqual((await A.listVersions('data')).map((v) => v.guid), [s2.guid, s3.guid]);
    assert.deepEqual(await readdir(join(a, '.ferry', 'snapshots', 'data')), ['s2', 's3']);
    assert.deepEqual(await treeOf(snapData(a, 'data', 's2')), trees.s2);
    assert.deepEqual(await treeOf(snapData(a, 'data', 's3')), trees.s3);
    assert.equal(await ino(join(snapData(a, 'data', 's3'), 'keep.txt')), keepIno);
    assert.equal((await lstat(join(snapData(a, 'data', 's3'), 'ro', 'locked.txt'))).nlink, 2);
    assert.deepEqual(await stagingLeft(a), []);
    // a middle snapshot the receiver never got: the plan then goes from the common s2 straight to the next one
    await A.destroySnapshot('data', 's3');
    assert.deepEqual(await treeOf(snapData(a, 'data', 's2')), trees.s2);
    await writeFile(join(live, 'change.txt'), 'v4');
    const [s4] = await A.snapshot(['data'], 's4');
    assert.equal(await ino(join(snapData(a, 'data', 's4'), 'keep.txt')), keepIno, 'a new snapshot still shares with the remaining ones');

    // on the receiver: an older version can go; the newest is <root>/data itself and stays
    await B.destroySnapshot('data', 's1');
    assert.deepEqual((await B.listVersions('data')).map((v) => v.guid), [s2.guid]);
    assert.deepEqual(await treeOf(join(b, 'data')), trees.s2);
    await assertRejectsWith(B.destroySnapshot('data', 's2'), PermanentError, 'data@s2', 'SNAPSHOT_IN_USE');
    assert.deepEqual(await treeOf(join(b, 'data')), trees.s2);

    const plan = await planReplication({ sender: A, receiver: B });
    assert.deepEqual(plan.filesystems.map((f) => [f.name, f.problem, f.steps.map((st) => [st.from?.name ?? null, st.to.name])]), [['data', undefined, [['s2', 's4']]]]);
    for (const step of plan.filesystems[0].steps) await receiveBytes(B, 'data', (await sendBytes(A, 'data', step.from, step.to)).bytes);
    assert.deepEqual(await treeOf(join(b, 'data')), await treeOf(snapData(a, 'data', 's4')));
    await B.destroySnapshot('data', 's2');
    assert.deepEqual((await B.listVersions('data')).map((v) => v.guid), [s4.guid]);
    assert.deepEqual(await treeOf(join(b, 'data')), await treeOf(live));

    // what is not there is named; nothing is created for it
    await assertRejectsWith(A.destroySnapshot('data', 's1'), PermanentError, 'data@s1', 'SNAPSHOT_NOT_FOUND');
    await assertRejectsWith(A.destroySnapshot('other', 's2'), PermanentError, 'other@s2', 'SNAPSHOT_NOT_FOUND');
    const missing = join(base, 'missing');
    await assertRejectsWith(createDirDriver(missing).destroySnapshot('data', 's1'), PermanentError, 'data@s1', 'SNAPSHOT_NOT_FOUND');
    assert.ok(!existsSync(missing));
    assert.deepEqual((await A.listVersions('data')).map((v) => v.name), ['s2', 's4']);
  });

  it('leaves the receiver as it was when a receive is interrupted or corrupt', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    const b = join(base, 'b');
    await mkdir(a);
    const live = await populate(a);
    const A = createDirDriver(a);
    const B = createDirDriver(b);
    const [s1] = await A.snapshot(['data'], 's1');
    await receiveBytes(B, 'data', (await sendBytes(A, 'data', null, s1)).bytes);
    // s2 changes the big file, so the incremental stream is large and has content to corrupt.
    await writeFile(join(live, 'big.bin'), randomBytes(8 * 1024 * 1024));
    await writeFile(join(live, 'added.txt'), 'added');
    const [s2] = await A.snapshot(['data'], 's2');
    const incr = (await sendBytes(A, 'data', s1, s2)).bytes;
    assert.ok(incr.length > 8 * 1024 * 1024);

    const before = { versions: await B.listVersions('data'), tree: await treeOf(join(b, 'data')), link: await readlink(join(b, 'data')) };
    const assertUnchanged = async (label: string) => {
      assert.deepEqual(await B.listVersions('data'), before.versions, label);
      assert.deepEqual(await treeOf(join(b, 'data')), before.tree, label);
      assert.equal(await readlink(join(b, 'data')), before.link, label);
      assert.deepEqual(await stagingLeft(b), [], `${label}: staging left behind`);
      assert.ok(!existsSync(join(b, '.ferry', 'snapshots', 'data', 's2')), label);
      assert.ok(await lockIsFree(b, 'data'), `${label}: lock left held`);
    };

    // 1. The stream fails halfway (a dropped connection): retryable.
    const half = incr.length >> 1;
    const failing = Readable.from((async function* () {
      yield incr.subarray(0, 1 << 20);
      yield incr.subarray(1 << 20, half);
      throw new Error('connection reset');
    })());
    const e1 = await assertRejectsWith(B.receive('data', failing), TemporaryError);
    assert.match(e1.message, /connection reset/);
    await assertUnchanged('stream error');

    // 2. The stream just stops halfway.
    await assertRejectsWith(receiveBytes(B, 'data', incr.subarray(0, half)), TemporaryError, undefined, 'TRUNCATED_STREAM');
    await assertUnchanged('truncated stream');

    // 3. One byte of file content is flipped.
    const corrupted = Buffer.from(incr);
    corrupted[incr.length - 4 * 1024 * 1024] ^= 0xff;
    await assertRejectsWith(receiveBytes(B, 'data', corrupted), PermanentError, /checksum mismatch/, 'CHECKSUM_MISMATCH');
    await assertUnchanged('corrupted byte');

    // 4. The receive is aborted through its signal while the stream is flowing.
    const controller = new AbortController();
    const slow = Readable.from((async function* () {
      for (let off = 0; off < incr.length; off += 1 << 20) {
        if (off === 2 << 20) controller.abort();
        yield incr.subarray(off, off + (1 << 20));
        await new Promise((r) => setTimeout(r, 5));
      }
    })());
    const e4 = await assertRejectsWith(B.receive('data', slow, { signal: controller.signal }), Error);
    assert.equal(e4.name, 'AbortError');
    await assertUnchanged('aborted');

    // 5. The intact stream still applies afterwards.
    const r2 = await receiveBytes(B, 'data', incr);
    assert.equal(r2.guid, s2.guid);
    assert.deepEqual(await treeOf(join(b, 'data')), await treeOf(snapData(a, 'data', 's2')));
  });

  it('honors the signal in send', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    await mkdir(a);
    await populate(a);
    const A = createDirDriver(a);
    const [s1] = await A.snapshot(['data'], 's1');
    const controller = new AbortController();
    const { stream } = await A.send('data', null, s1, { signal: controller.signal });
    let received = 0;
    const err = await assertRejectsWith((async () => {
      for await (const chunk of stream) {
        received += (chunk as Buffer).length;
        if (received > 1 << 20) controller.abort();
      }
    })(), Error);
    assert.equal(err.name, 'AbortError');
    assert.ok(received < 20 * 1024 * 1024);
    const aborted = new AbortController();
    aborted.abort();
    await assertRejectsWith(A.send('data', null, s1, { signal: aborted.signal }), Error);
  });

  it('refuses streams that do not continue the receiver\'s newest version', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    const b = join(base, 'b');
    const c = join(base, 'c');
    await mkdir(a);
    await mkdir(join(a, 'data'));
    const A = createDirDriver(a);
    const B = createDirDriver(b);
    const C = createDirDriver(c);
    await writeFile(join(a, 'data', 'f'), '1');
    const [s1] = await A.snapshot(['data'], 's1');
    await writeFile(join(a, 'data', 'f'), '2');
    const [s2] = await A.snapshot(['data'], 's2');
    await writeFile(join(a, 'data', 'f'), '3');
    const [s3] = await A.snapshot(['data'], 's3');
    assert.deepEqual((await A.listVersions('data')).map((v) => v.name), ['s1', 's2', 's3']);

    await receiveBytes(B, 'data', (await sendBytes(A, 'data', null, s1)).bytes);
    await receiveBytes(B, 'data', (await sendBytes(A, 'data', s1, s2)).bytes);
    const before = { versions: await B.listVersions('data'), tree: await treeOf(join(b, 'data')) };

    // From s1, but B's newest is s2: diverged.
    await assertRejectsWith(receiveBytes(B, 'data', (await sendBytes(A, 'data', s1, s3)).bytes), PermanentError, /diverged/, 'CONFLICT_DIVERGED');
    // A full stream into a filesystem that already has versions.
    await assertRejectsWith(receiveBytes(B, 'data', (await sendBytes(A, 'data', null, s3)).bytes), PermanentError, undefined, 'CONFLICT_EXISTS');
    // The same version twice.
    await assertRejectsWith(receiveBytes(B, 'data', (await sendBytes(A, 'data', s1, s2)).bytes), PermanentError, undefined, 'ALREADY_EXISTS');
    assert.deepEqual(await B.listVersions('data'), before.versions);
    assert.deepEqual(await treeOf(join(b, 'data')), before.tree);
    assert.deepEqual(await stagingLeft(b), []);

    // From s2, which C never received.
    await receiveBytes(C, 'data', (await sendBytes(A, 'data', null, s1)).bytes);
    await assertRejectsWith(receiveBytes(C, 'data', (await sendBytes(A, 'data', s2, s3)).bytes), PermanentError, undefined, 'CONFLICT_MISSING_FROM');
    assert.deepEqual((await C.listVersions('data')).map((v) => v.name), ['s1']);

    // A local snapshot on the receiver makes it diverge too, as with zfs.
    await C.snapshot(['data'], 'local');
    await assertRejectsWith(receiveBytes(C, 'data', (await sendBytes(A, 'data', s1, s2)).bytes), PermanentError, undefined, 'CONFLICT_DIVERGED');

    // The sender refuses a `from` it does not have, or one that is not older than `to`.
    await assertRejectsWith(A.send('data', s3, s1), PermanentError, undefined, 'NOT_NEWER');
    await assertRejectsWith(A.send('data', s2, s2), PermanentError, undefined, 'NOT_NEWER');
    await assertRejectsWith(A.send('data', { name: 'ghost', guid: 'ab'.repeat(16), createtxg: 0 }, s3), PermanentError, 'ghost', 'SNAPSHOT_NOT_FOUND');
  });

  it('refuses to overwrite a directory the receiver did not create', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    const b = join(base, 'b');
    await mkdir(join(a, 'data'), { recursive: true });
    await mkdir(join(b, 'data'), { recursive: true });
    await writeFile(join(a, 'data', 'f'), 'sender');
    await writeFile(join(b, 'data', 'mine'), 'a person\'s file');
    const A = createDirDriver(a);
    const B = createDirDriver(b);
    const [s1] = await A.snapshot(['data'], 's1');
    const bytes = (await sendBytes(A, 'data', null, s1)).bytes;
    await assertRejectsWith(receiveBytes(B, 'data', bytes), PermanentError, join(b, 'data'), 'CONFLICT_NOT_RECEIVER');
    assert.equal(await readFile(join(b, 'data', 'mine'), 'utf8'), 'a person\'s file');
    assert.deepEqual(await B.listVersions('data'), []);

    // An empty directory is taken over.
    await rm(join(b, 'data', 'mine'));
    await receiveBytes(B, 'data', bytes);
    assert.equal(await readFile(join(b, 'data', 'f'), 'utf8'), 'sender');
  });

  it('clears staging left by a crashed receive', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    const b = join(base, 'b');
    await mkdir(join(a, 'data'), { recursive: true });
    await writeFile(join(a, 'data', 'f'), 'x');
    const A = createDirDriver(a);
    const B = createDirDriver(b);
    const [s1] = await A.snapshot(['data'], 's1');
    // What a receive killed mid-way leaves: its staging and its lock, whose lease ran out.
    await mkdir(join(b, '.ferry', 'tmp', 'data', 'recv-0123456789ab', 'data'), { recursive: true });
    await writeFile(join(b, '.ferry', 'tmp', 'data', 'recv-0123456789ab', 'data', 'half'), 'half a file');
    await mkdir(join(b, '.ferry', 'locks', 'data'), { recursive: true });
    await writeFile(join(b, '.ferry', 'locks', 'data', '7'), '{"pid":1}\n');
    const longAgo = new Date(Date.now() - 2 * DEFAULT_LOCK_LEASE_MS);
    await utimes(join(b, '.ferry', 'locks', 'data', '7'), longAgo, longAgo);

    await receiveBytes(B, 'data', (await sendBytes(A, 'data', null, s1)).bytes);
    assert.ok(!existsSync(join(b, '.ferry', 'tmp', 'data')), 'staging left behind');
    assert.deepEqual(await readdir(join(b, '.ferry', 'locks', 'data')), ['8', '8.released']);
    assert.deepEqual((await B.listVersions('data')).map((v) => v.guid), [s1.guid]);

    // A lock whose holder renews it is respected: busy, retry later. It is free once released.
    const held = await acquireLease(join(b, '.ferry', 'locks', 'data'), 'test holder');
    await assertRejectsWith(B.snapshot(['data'], 's2'), TemporaryError, undefined, 'BUSY');
    await held.release();
    await B.snapshot(['data'], 's2');
  });

  it('lists filesystems and versions, and refuses duplicate snapshot names', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    await mkdir(a);
    for (const fs of ['zeta', 'alpha', 'mid']) await mkdir(join(a, fs));
    await writeFile(join(a, 'not-a-dir'), '');
    await mkdir(join(a, 'has space')); // not a usable name, so not a filesystem
    const A = createDirDriver(a);
    assert.deepEqual(await A.listFilesystems(), ['alpha', 'mid', 'zeta']);
    assert.deepEqual(await A.listVersions('alpha'), []);
    assert.deepEqual(await A.listVersions('missing'), []);

    const [x1, y1] = await A.snapshot(['alpha', 'zeta'], 'one');
    assert.ok(y1.createtxg > x1.createtxg); // one counter for the whole root
    const [x2] = await A.snapshot(['alpha'], 'two');
    assert.deepEqual(await A.listFilesystems(), ['alpha', 'mid', 'zeta'], '.ferry is not a filesystem');
    assert.deepEqual((await A.listVersions('alpha')).map((v) => [v.name, v.createtxg]), [['one', x1.createtxg], ['two', x2.createtxg]]);
    assert.equal(await readFile(join(a, '.ferry', 'counter'), 'utf8'), `${x2.createtxg}\n`);

    await assertRejectsWith(A.snapshot(['alpha'], 'one'), PermanentError, 'alpha@one', 'SNAPSHOT_EXISTS');
    // All or nothing: `mid@one` must not be taken when `alpha@one` exists.
    await assertRejectsWith(A.snapshot(['mid', 'alpha'], 'one'), PermanentError, 'alpha@one');
    assert.deepEqual(await A.listVersions('mid'), []);
    await assertRejectsWith(A.snapshot(['nope'], 'x'), PermanentError, 'nope', 'NOT_FOUND');
  });

  it('reports a root that does not exist', async (t) => {
    const base = await tempBase(t);
    const missing = join(base, 'missing');
    const D = createDirDriver(missing);
    await assertRejectsWith(D.listFilesystems(), PermanentError, missing, 'NOT_FOUND');
    assert.deepEqual(await D.listVersions('data'), []);
    await assertRejectsWith(D.snapshot(['data'], 's1'), PermanentError, missing);
    assert.ok(!existsSync(missing), 'listing must not create the root');
    assert.throws(() => createDirDriver('relative/path'), InvalidArgumentError);
  });

  it('refuses a stream whose paths would escape the snapshot', async (t) => {
    const base = await tempBase(t);
    const b = join(base, 'b');
    const B = createDirDriver(b);
    const sha = createHash('sha256').update('evil').digest('hex');
    const craft = async (manifest: object[]): Promise<Buffer> => {
      const pack = tar.pack();
      const header = {
        format: 'ferry-dir-v1', fs: 'data', from: null, to: { name: 's1', guid: 'ab'.repeat(16), createtxg: 1 },
        manifest, ops: manifest.filter((e) => (e as { type: string }).type === 'file').map((e) => ({ op: 'write', ...e })),
      };
      pack.entry({ name: 'ferry-dir-v1.json' }, JSON.stringify(header));
      pack.entry({ name: 'content/0' }, 'evil');
      pack.finalize();
      return collect(Readable.from(pack, { objectMode: false }));
    };
    const outside = join(base, 'outside');
    await mkdir(outside);
    for (const manifest of [
      [{ path: '../../../outside/evil', type: 'file', mode: 0o644, size: 4, sha256: sha }],
      [{ path: 'up', type: 'symlink', mode: 0o777, size: 0, target: outside }, { path: 'up/evil', type: 'file', mode: 0o644, size: 4, sha256: sha }],
    ]) {
      await assertRejectsWith(receiveBytes(B, 'data', await craft(manifest)), PermanentError, /corrupt stream/, 'CORRUPT_STREAM');
    }
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual(await B.listVersions('data'), []);
    assert.deepEqual(await stagingLeft(b), []);
  });

  it('refuses a stream header over MAX_HEADER_BYTES before buffering it, leaving nothing behind', async (t) => {
    const b = join(await tempBase(t), 'b');
    const B = createDirDriver(b);
    // A tar entry header (ustar) announcing a stream header one byte over the limit, then a little of it.
    const entry = Buffer.alloc(512);
    entry.write('ferry-dir-v1.json', 0);
    entry.write('0000644\0', 100);
    entry.write(`${(MAX_HEADER_BYTES + 1).toString(8).padStart(11, '0')}\0`, 124);
    entry.write('00000000000\0', 136);
    entry.write('0', 156);
    entry.write('ustar\0' + '00', 257);
    entry.write('        ', 148);
    entry.write(`${entry.reduce((sum, byte) => sum + byte, 0).toString(8).padStart(6, '0')}\0 `, 148);
    const stream = Buffer.concat([entry, Buffer.alloc(64 * 1024, 0x20)]);
    const err = await assertRejectsWith(receiveBytes(B, 'data', stream), PermanentError, 'MAX_HEADER_BYTES', 'HEADER_TOO_LARGE');
    assert.ok(err.message.includes(String(MAX_HEADER_BYTES)), err.message);
    assert.deepEqual(await B.listVersions('data'), []);
    assert.ok(!existsSync(join(b, 'data')), 'nothing visible');
    assert.deepEqual(await stagingLeft(b), []);
    assert.ok(await lockIsFree(b, 'data'));
  });

  it('refuses invalid names before touching anything', async (t) => {
    const base = await tempBase(t);
    const a = join(base, 'a');
    await mkdir(join(a, 'data'), { recursive: true });
    await writeFile(join(a, 'data', 'f'), 'x');
    const A = createDirDriver(a);
    const [s1] = await A.snapshot(['data'], 's1');
    const bytes = (await sendBytes(A, 'data', null, s1)).bytes;
    const fresh = join(base, 'fresh');
    const F = createDirDriver(fresh);

    for (const bad of ['has space', 'a;b', '..', '../x', '-rf', 'a/b', '', '.hidden', 'x..y', 'tab\there']) {
      const shown = JSON.stringify(bad);
      await assertRejectsWith(A.snapshot(['data'], bad), InvalidArgumentError, shown, 'INVALID_NAME');
      await assertRejectsWith(A.snapshot([bad], 'ok'), InvalidArgumentError, shown, 'INVALID_NAME');
      await assertRejectsWith(A.listVersions(bad), InvalidArgumentError, shown);
      await assertRejectsWith(A.send(bad, null, s1), InvalidArgumentError, shown);
      await assertRejectsWith(F.receive(bad, Readable.from([bytes])), InvalidArgumentError, shown);
      await assertRejectsWith(A.destroySnapshot(bad, 's1'), InvalidArgumentError, shown, 'INVALID_NAME');
      await assertRejectsWith(A.destroySnapshot('data', bad), InvalidArgumentError, shown, 'INVALID_NAME');
    }
    assert.deepEqual((await A.listVersions('data')).map((v) => v.name), ['s1']);
    assert.deepEqual(await readdir(join(a, '.ferry', 'snapshots', 'data')), ['s1']);
    assert.ok(!existsSync(fresh), 'a refused receive must not create the root');
    assert.ok((await stat(join(a, 'data'))).isDirectory());
  });
});
