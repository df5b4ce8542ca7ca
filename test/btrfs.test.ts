import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Engine } from '../src/engine/engine.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { InvalidArgumentError, PermanentError, TemporaryError, quote } from '../src/errors/index.js';
import { createBtrfsDriver } from '../src/storage/btrfs/index.js';
import { btrfsCallCount, processOutput, runBtrfsPair, runningBtrfsProcesses, spawnBtrfs } from '../src/storage/btrfs/run-btrfs.js';
import { CMD_END } from '../src/storage/btrfs/stream.js';
import type { StorageDriver, Version } from '../src/storage/driver.js';
import { openEndpoint } from '../src/storage/endpoint.js';
import { btrfsGate, createSubvolume, mountBtrfsImage, sendLength, sh, shStatus, subvolumeFields, type BtrfsMount } from './helpers/btrfs.js';
import { localSendProtocol } from '../src/storage/btrfs/protocol.js';
import { mountedSubvolumeId, parseMounts } from '../src/storage/btrfs/mount-subvolume.js';
import { listingContext } from '../src/storage/btrfs/subvolume.js';
import { makeLayout } from '../src/storage/btrfs/layout.js';
import { startTestRedis } from './helpers/redis.js';
import { runProcess, stopProcess } from './helpers/processes.js';
import { startAgent } from './helpers/agent.js';
import * as grpc from '@grpc/grpc-js';
import { newEndpointClient } from '../src/grpc/proto.js';
import { closeRemoteClients } from '../src/grpc/endpoint-channels.js';
import { batchHint } from '../src/cli/commands/replicate.js';
import { replicate, replicationEngine } from './helpers/replication.js';
import { localTransferCount } from '../src/storage/local-pipe.js';
import { replicateStep } from '../src/replication/step-runner.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { createLogger } from '../src/util/logger.js';
import type { ReplicateStepInput } from '../machines/filesystem.js';
import type { EffectContext } from '../src/engine/types.js';
import { collect } from './helpers/files.js';
import { assertRetentionSeries, jobsEngine } from './helpers/pruning.js';

// ---- helpers -------------------------------------------------------------------------------

/** path -> "type mode sha256" of a tree, read independently of the driver. */
function treeOf(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, r));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out[r] = `dir ${mode}`;
      Object.assign(out, treeOf(dir, r));
    } else if (st.isSymbolicLink()) out[r] = 'symlink';
    else out[r] = `file ${mode} ${createHash('sha256').update(readFileSync(join(dir, r))).digest('hex')}`;
  }
  return out;
}


async function until(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Subvolumes (inode 256) directly in `dir`. */
function subvolumesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => lstatSync(join(dir, n)).ino === 256).sort();
}

/** Gives `head` and then nothing more until `fail()` destroys it (with an error, or none). */
function stallingStream(head: Buffer): { stream: Readable; fail(err?: Error): void } {
  let given = false;
  const stream = new Readable({
    read() {
      if (given) return;
      given = true;
      this.push(head);
    },
  });
  return { stream, fail: (err) => stream.destroy(err) };
}

let counter = 0;
/** A fresh root directory on a mounted btrfs: each test works in its own roots. */
function root(m: BtrfsMount, tag: string): string {
  const path = join(m.dir, `${tag}-${++counter}`);
  mkdirSync(path);
  return path;
}

/** Sender root with subvolume filesystems holding a few files (and `bigMiB` of random data). */
function makeSender(path: string, fss: string[], bigMiB = 0): StorageDriver {
  for (const fs of fss) {
    createSubvolume(join(path, fs));
    mkdirSync(join(path, fs, 'sub'));
    writeFileSync(join(path, fs, 'a.txt'), `a of ${fs}\n`);
    writeFileSync(join(path, fs, 'sub', 'b.txt'), `b of ${fs}\n`.repeat(100), { mode: 0o600 });
    if (bigMiB > 0) writeFileSync(join(path, fs, 'big.bin'), randomBytes(bigMiB * 1024 * 1024));
  }
  return createBtrfsDriver(path);
}

async function sendAll(driver: StorageDriver, fs: string, from: Version | null, to: Version): Promise<Buffer> {
  return collect((await driver.send(fs, from, to)).stream);
}

const snapDir = (rootPath: string, fs: string) => join(rootPath, '.ferry', 'snapshots', fs);

const gate = btrfsGate();

describe('btrfs', { skip: gate.skip }, () => {
  if (gate.failure) {
    it('btrfs is available', () => assert.fail(gate.failure!));
    return;
  }
  let a: BtrfsMount;
  let b: BtrfsMount;
  before(() => {
    a = mountBtrfsImage('a');
    b = mountBtrfsImage('b');
  });
  after(() => {
    b?.cleanup();
    a?.cleanup();
  });

  describe('driver', () => {
    it('lists filesystems and versions: guid is the UUID, createtxg the generation at creation, oldest first', async () => {
      const s = root(a, 's');
      const sender = makeSender(s, ['one', 'two']);
      mkdirSync(join(s, 'plain-dir')); // not a subvolume: not a filesystem
      createSubvolume(join(s, 'bad name'));
      assert.equal(sender.kind, 'btrfs');
      assert.deepEqual(sender.capabilities, { batch: true, resumable: false, atomicSnapshots: false });
      assert.deepEqual(await sender.listFilesystems(), ['one', 'two']);
      assert.deepEqual(await sender.listVersions('one'), []);
      assert.deepEqual(await sender.listVersions('nope'), []);

      const [one1, two1] = await sender.snapshot(['one', 'two'], 's1');
      writeFileSync(join(s, 'one', 'a.txt'), 'changed\n');
      const [one2] = await sender.snapshot(['one'], 's2');
      const fields = subvolumeFields(join(snapDir(s, 'one'), 's1'));
      assert.equal(one1.guid, fields.uuid);
      assert.equal(one1.createtxg, fields.cgen);
      assert.ok(fields.readonly);
      assert.equal(one1.name, 's1');
      assert.ok(one1.creation && !Number.isNaN(Date.parse(one1.creation)));
      assert.notEqual(one1.guid, two1.guid);
      assert.ok(one2.createtxg > one1.createtxg);
      assert.deepEqual(await sender.listVersions('one'), [one1, one2]);
      assert.deepEqual(readFileSync(join(snapDir(s, 'one'), 's1', 'a.txt'), 'utf8'), 'a of one\n', 'the snapshot kept the old content');

      await assert.rejects(sender.snapshot(['one'], 's2'), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_EXISTS');
      await assert.rejects(sender.snapshot(['nope'], 's3'), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_FOUND');
      // all checked before any is taken
      await assert.rejects(sender.snapshot(['two', 'one'], 's2'), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_EXISTS');
      assert.deepEqual((await sender.listVersions('two')).map((v) => v.name), ['s1']);
      await assert.rejects(createBtrfsDriver(join(s, 'missing')).listFilesystems(), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_FOUND');
      await assert.rejects(createBtrfsDriver('/tmp').listFilesystems(), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_BTRFS');
      const elsewhere = join(a.dir, '..', 'not-btrfs');
      await assert.rejects(createBtrfsDriver(join(elsewhere, 'root')).receive('fs', Readable.from([Buffer.alloc(0)])), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_BTRFS');
      assert.equal(existsSync(elsewhere), false, 'nothing created outside btrfs');
      assert.equal(openEndpoint(`btrfs:${s}/`).kind, 'btrfs');
    });

    it('listing runs two btrfs commands per endpoint (and rootid once per holding subvolume), whatever the number of snapshots and unrelated subvolumes; it agrees with btrfs subvolume show', async () => {
      // roots inside a subvolume that is not the top level: `subvolume list -o` prints paths relative to it
      const holder = join(a.dir, `holder-${++counter}`);
      createSubvolume(holder);
      const s = join(holder, 'x');
      mkdirSync(s);
      const sender = makeSender(s, ['f', 'g']);
      for (let i = 0; i < 4; i++) createSubvolume(join(a.dir, `unrelated-${counter}-${i}`));
      const versions: Version[] = [];
      for (let i = 1; i <= 6; i++) versions.push(...(await sender.snapshot(['f'], `s${i}`)));
      let calls = btrfsCallCount();
      assert.deepEqual(await sender.listVersions('f'), versions);
      assert.equal(btrfsCallCount() - calls, 2, 'one listing (two runs: the holder\'s rootid is known since the snapshots) for six snapshots');
      const showTime = (path: string) => Date.parse(/Creation time:\s*(.*)/.exec(sh('btrfs', ['subvolume', 'show', path]))![1]);
      for (const v of versions) {
        const fields = subvolumeFields(join(snapDir(s, 'f'), v.name));
        assert.deepEqual([v.guid, v.createtxg], [fields.uuid, fields.cgen]);
        assert.equal(Date.parse(v.creation!), showTime(join(snapDir(s, 'f'), v.name)), 'creation is the subvolume\'s otime');
      }

      // a receiver: a full receive (not a snapshot: no otime in the listing) and incrementals, two filesystems
      const rroot = join(holder, 'r');
      const receiver = createBtrfsDriver(rroot);
      const [g1] = await sender.snapshot(['g'], 's1');
      await receiver.receive('g', (await sender.send('g', null, g1)).stream);
      await receiver.receive('f', (await sender.send('f', null, versions[0])).stream);
      for (let i = 1; i < versions.length; i++) await receiver.receive('f', (await sender.send('f', versions[i - 1], versions[i])).stream);
      calls = btrfsCallCount();
      const got = await receiver.listVersions('f');
      assert.equal(btrfsCallCount() - calls, 2);
      assert.deepEqual(got.map((v) => [v.name, v.guid]), versions.map((v) => [v.name, v.guid]));
      const full = got[0];
      assert.ok(Math.abs(Date.parse(full.creation!) - showTime(join(snapDir(rroot, 'f'), 's1'))) <= 1000, `full receive creation ${full.creation}`);
      calls = btrfsCallCount();
      assert.deepEqual(await receiver.listFilesystems(), ['f', 'g']);
      assert.equal(btrfsCallCount() - calls, 2, 'one listing for every snapshot directory');
      // planning asks once per filesystem: a fresh driver answers both from one listing
      const planner = createBtrfsDriver(rroot);
      calls = btrfsCallCount();
      const [f, g] = await Promise.all([planner.listVersions('f'), planner.listVersions('g')]);
      assert.deepEqual([f.length, g.length], [versions.length, 1]);
      assert.equal(btrfsCallCount() - calls, 2, 'one listing for both filesystems');
    });

    it('two btrfs commands in one shell: both outputs apart, a failure typed and named after its command', async () => {
      const dir = join(a.dir, 'pair');
      createSubvolume(join(dir, 'x'));
      const [listed, shown] = await runBtrfsPair(['subvolume', 'list', '-o', dir], ['subvolume', 'show', join(dir, 'x')]);
      assert.match(listed, /path (pair\/)?x$/m);
      assert.doesNotMatch(listed, /Name:/);
      assert.match(shown, /^\s*Name:\s+x$/m);
      await assert.rejects(runBtrfsPair(['subvolume', 'list', dir], ['subvolume', 'show', join(dir, 'nothing-here')]), (err: unknown) => {
        assert.ok(err instanceof PermanentError || err instanceof TemporaryError);
        assert.match((err as Error).message, /btrfs subvolume show .*nothing-here failed \(exit 1\)/);
        return true;
      });
      const ac = new AbortController();
      ac.abort(new Error('stopped'));
      await assert.rejects(runBtrfsPair(['subvolume', 'list', dir], ['subvolume', 'list', dir], { signal: ac.signal }), /stopped/);
    });

    it('a holding subvolume deleted and made again at the same path has its rootid read afresh', async () => {
      const holder = join(a.dir, `reborn-${++counter}`);
      const make = async (name: string) => {
        createSubvolume(holder);
        const sender = makeSender(join(holder), ['f']);
        const versions = [...(await sender.snapshot(['f'], `${name}1`)), ...(await sender.snapshot(['f'], `${name}2`))];
        return { sender, versions };
      };
      const first = await make('a');
      assert.deepEqual(await first.sender.listVersions('f'), first.versions);
      for (const v of first.versions) sh('btrfs', ['-q', 'subvolume', 'delete', join(snapDir(holder, 'f'), v.name)]);
      sh('btrfs', ['-q', 'subvolume', 'delete', join(holder, 'f')]);
      rmSync(join(holder, '.ferry'), { recursive: true });
      sh('btrfs', ['-q', 'subvolume', 'delete', holder]);
      const second = await make('b');
      // a rootid kept by path would name the deleted holder: no row would match, and every snapshot
      // would fall back to a `show` of its own
      const calls = btrfsCallCount();
      assert.deepEqual(await createBtrfsDriver(holder).listVersions('f'), second.versions);
      assert.equal(btrfsCallCount() - calls, 2, 'one listing, no show per snapshot');
    });

    it('a holding subvolume that is a mount\'s root has its id from the mount table, no rootid run; a nested one is asked of btrfs', async () => {
      const name = `mounted-${++counter}`;
      const inner = join(a.dir, name);
      createSubvolume(inner);
      const device = /^([^\s[]+)/.exec(sh('findmnt', ['-n', '-o', 'SOURCE', '--target', a.dir]))![1];
      const mnt = join(a.dir, '..', `${name}-mnt`);
      mkdirSync(mnt);
      sh('mount', ['-o', `subvol=/${name}`, device, mnt]);
      try {
        const rootid = (path: string) => Number(sh('btrfs', ['inspect-internal', 'rootid', path]).trim());
        assert.equal(await mountedSubvolumeId(a.dir), rootid(a.dir));
        assert.equal(await mountedSubvolumeId(mnt), rootid(mnt));
        assert.notEqual(rootid(mnt), rootid(a.dir));
        assert.equal(await mountedSubvolumeId(inner), null, 'a subvolume nested in a mounted one is no mount point');
        // a root below the mount: its listings run no rootid, and find its snapshots (a wrong id finds none)
        const sender = makeSender(join(mnt, 'r'), ['f']);
        let calls = btrfsCallCount();
        await listingContext(makeLayout(join(mnt, 'r')));
        assert.equal(btrfsCallCount() - calls, 0, 'the mount table named the holder');
        const versions = [...(await sender.snapshot(['f'], 's1')), ...(await sender.snapshot(['f'], 's2'))];
        assert.deepEqual(await createBtrfsDriver(join(mnt, 'r')).listVersions('f'), versions);
        // the same subvolume reached through its nesting: rootid, once
        calls = btrfsCallCount();
        await listingContext(makeLayout(join(inner, 'r')));
        assert.equal(btrfsCallCount() - calls, 1, 'btrfs inspect-internal rootid for a nested holder');
        assert.deepEqual((await createBtrfsDriver(join(inner, 'r')).listVersions('f')).map((v) => v.guid), versions.map((v) => v.guid));
      } finally {
        sh('umount', [mnt]);
        rmSync(mnt, { recursive: true, force: true });
      }
    });

    it('the mount table: a later mount covers an earlier one at the same place, escapes are undone, a mount of another type is not btrfs', () => {
      const text = [
        '45 26 0:39 / /srv/a rw,relatime - btrfs /dev/loop0 rw,space_cache=v2,subvolid=5,subvol=/',
        '46 26 0:39 /sv /srv/with\\040space rw - btrfs /dev/loop0 rw,subvolid=256,subvol=/sv',
        '47 26 0:40 / /srv/b rw shared:12 master:3 - btrfs /dev/loop1 rw,subvolid=257,subvol=/x',
        '48 26 0:41 / /srv/b rw - tmpfs tmpfs rw',
        '49 26 0:42 / /srv/old rw - btrfs /dev/loop2 rw,space_cache',
      ].join('\n');
      assert.deepEqual(parseMounts(text), [
        { mountPoint: '/srv/a', fstype: 'btrfs', subvolumeId: 5 },
        { mountPoint: '/srv/with space', fstype: 'btrfs', subvolumeId: 256 },
        { mountPoint: '/srv/b', fstype: 'btrfs', subvolumeId: 257 },
        { mountPoint: '/srv/b', fstype: 'tmpfs', subvolumeId: null },
        { mountPoint: '/srv/old', fstype: 'btrfs', subvolumeId: null },
      ]);
    });

    it('full and incremental send -> receive: same data, received UUID = sender UUID, idempotent, conflicts typed', async () => {
      const s = root(a, 's');
      const r = root(b, 'r');
      const sender = makeSender(s, ['fs'], 2);
      const receiver = createBtrfsDriver(join(r, 'deeper')); // receive creates the root
      const [v1] = await sender.snapshot(['fs'], 's1');
      const full = await sender.send('fs', null, v1);
      assert.ok(full.sizeEstimate !== undefined && full.sizeEstimate >= 2 * 1024 * 1024, `full estimate ${full.sizeEstimate}`);
      const got1 = await receiver.receive('fs', full.stream);
      assert.equal(got1.guid, v1.guid);
      assert.equal(got1.name, 's1');
      assert.equal(subvolumeFields(join(snapDir(join(r, 'deeper'), 'fs'), 's1')).receivedUuid, v1.guid);
      assert.deepEqual(treeOf(join(snapDir(join(r, 'deeper'), 'fs'), 's1')), treeOf(join(snapDir(s, 'fs'), 's1')));
      assert.deepEqual(await receiver.listFilesystems(), ['fs'], 'a receiver filesystem is a snapshot directory with versions');

      writeFileSync(join(s, 'fs', 'new.txt'), 'new\n');
      rmSync(join(s, 'fs', 'sub', 'b.txt'));
      const [v2] = await sender.snapshot(['fs'], 's2');
      writeFileSync(join(s, 'fs', 'a.txt'), 'third\n');
      const [v3] = await sender.snapshot(['fs'], 's3');
      const inc = await sender.send('fs', v1, v2);
      assert.equal(inc.sizeEstimate, undefined);
      const got2 = await receiver.receive('fs', inc.stream);
      assert.equal(got2.guid, v2.guid);
      assert.ok(got2.createtxg > got1.createtxg, 'the receiver orders by its own generations');
      assert.deepEqual(treeOf(join(snapDir(join(r, 'deeper'), 'fs'), 's2')), treeOf(join(snapDir(s, 'fs'), 's2')));

      // the same version again: success, nothing changes
      const before = await receiver.listVersions('fs');
      assert.deepEqual(await receiver.receive('fs', Readable.from([await sendAll(sender, 'fs', v1, v2)])), got2);
      assert.deepEqual(await receiver.listVersions('fs'), before);
      // a full stream into a filesystem with versions; an incremental whose parent is missing or not the newest
      await assert.rejects(receiver.receive('fs', Readable.from([await sendAll(sender, 'fs', null, v3)])), (e: unknown) => e instanceof PermanentError && e.code === 'CONFLICT_EXISTS');
      const other = createBtrfsDriver(root(b, 'other'));
      await other.receive('fs', Readable.from([await sendAll(sender, 'fs', null, v1)]));
      await assert.rejects(other.receive('fs', Readable.from([await sendAll(sender, 'fs', v2, v3)])), (e: unknown) => e instanceof PermanentError && e.code === 'CONFLICT_MISSING_FROM' && /parent/.test(e.message));
      await assert.rejects(receiver.receive('fs', Readable.from([await sendAll(sender, 'fs', v1, v3)])), (e: unknown) => e instanceof PermanentError && e.code === 'CONFLICT_DIVERGED');
      assert.deepEqual(await receiver.listVersions('fs'), before);
      assert.deepEqual(subvolumesIn(snapDir(join(r, 'deeper'), 'fs')), ['s1', 's2']);

      await receiver.receive('fs', (await sender.send('fs', v2, v3)).stream);
      assert.deepEqual((await receiver.listVersions('fs')).map((v) => v.guid), [v1.guid, v2.guid, v3.guid]);
      assert.equal(readFileSync(join(snapDir(join(r, 'deeper'), 'fs'), 's3', 'a.txt'), 'utf8'), 'third\n');

      // a receiver can send on (A -> B -> C): the guid stays the first sender's UUID all the way
      const c = createBtrfsDriver(root(a, 'cascade'));
      const fromB = createBtrfsDriver(join(r, 'deeper'));
      const [b1, b2, b3] = await fromB.listVersions('fs');
      assert.equal((await c.receive('fs', (await fromB.send('fs', null, b1)).stream)).guid, v1.guid);
      assert.equal((await c.receive('fs', (await fromB.send('fs', b1, b2)).stream)).guid, v2.guid);
      assert.equal((await c.receive('fs', (await fromB.send('fs', b2, b3)).stream)).guid, v3.guid);

      // send refuses unknown versions and non-newer targets before running btrfs send
      await assert.rejects(sender.send('fs', null, { ...v1, guid: '00000000-0000-0000-0000-000000000000' }), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_NOT_FOUND');
      await assert.rejects(sender.send('fs', v2, v1), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_NEWER');
      await assert.rejects(receiver.receive('fs', Readable.from([Buffer.from('not a btrfs stream at all')])), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_STREAM');
    });

    it('a batch: one stream brings every snapshot between from and to, each on the one before; one cut inside a snapshot keeps those that arrived complete', async () => {
      const s = root(a, 's');
      const sender = makeSender(s, ['fs'], 1);
      const [v1] = await sender.snapshot(['fs'], 's1');
      for (const name of ['s2', 's3', 's4']) {
        writeFileSync(join(s, 'fs', `${name}.txt`), `${name}\n`);
        if (name === 's3') writeFileSync(join(s, 'fs', 'big3.bin'), randomBytes(4 * 1024 * 1024));
        await sender.snapshot(['fs'], name);
      }
      const all = await sender.listVersions('fs');
      assert.deepEqual(all.map((v) => v.name), ['s1', 's2', 's3', 's4']);
      const batch = await collect((await sender.send('fs', v1, all[3], { intermediates: true })).stream);
      // each snapshot's changes once: no more than the three steps one by one (-p from s1 for all would send s2's and s3's again)
      const oneByOne = [await sendAll(sender, 'fs', all[0], all[1]), await sendAll(sender, 'fs', all[1], all[2]), await sendAll(sender, 'fs', all[2], all[3])];
      assert.ok(batch.length <= oneByOne.reduce((n, b) => n + b.length, 0), `batch ${batch.length} bytes, one by one ${oneByOne.map((b) => b.length)}`);
      assert.ok(batch.length > 4 * 1024 * 1024);

      const fresh = async () => {
        const r = root(b, 'r');
        const receiver = createBtrfsDriver(r);
        await receiver.receive('fs', Readable.from([await sendAll(sender, 'fs', null, v1)]));
        return { r, receiver, dir: snapDir(r, 'fs') };
      };
      const whole = await fresh();
      const got = await whole.receiver.receive('fs', Readable.from([batch]));
      assert.equal(got.guid, all[3].guid);
      assert.deepEqual((await whole.receiver.listVersions('fs')).map((v) => [v.name, v.guid]), all.map((v) => [v.name, v.guid]));
      for (const name of ['s2', 's3', 's4']) {
        assert.deepEqual(treeOf(join(whole.dir, name)), treeOf(join(snapDir(s, 'fs'), name)));
        assert.equal(subvolumeFields(join(whole.dir, name)).receivedUuid, all.find((v) => v.name === name)!.guid);
      }

      // cut inside s3 (after s2's stream and 1 MiB of s3's): s2 arrived complete and stays, s3 leaves no trace
      const cut = await fresh();
      const s3Starts = oneByOne[0].length;
      await assert.rejects(cut.receiver.receive('fs', Readable.from([batch.subarray(0, s3Starts + 1024 * 1024)])), (e: unknown) => e instanceof TemporaryError && e.code === 'TRUNCATED_STREAM');
      assert.deepEqual(subvolumesIn(cut.dir), ['s1', 's2']);
      assert.deepEqual((await cut.receiver.listVersions('fs')).map((v) => v.guid), [v1.guid, all[1].guid]);
      assert.deepEqual(treeOf(join(cut.dir, 's2')), treeOf(join(snapDir(s, 'fs'), 's2')));
      // the retry goes on from the newest that arrived, as the step runner's does
      assert.equal((await cut.receiver.receive('fs', (await sender.send('fs', all[1], all[3], { intermediates: true })).stream)).guid, all[3].guid);
      assert.deepEqual((await cut.receiver.listVersions('fs')).map((v) => v.guid), all.map((v) => v.guid));

      // a later snapshot that is not on one before it (here a full one) is refused before btrfs receive
      // sees a byte of it; it gets the stream up to the END before it (in the same chunk), so s2 arrives whole
      const forged = await fresh();
      const full3 = await sendAll(sender, 'fs', null, all[2]);
      await assert.rejects(forged.receiver.receive('fs', Readable.from([Buffer.concat([oneByOne[0], full3])])), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_STREAM' && /not incremental on a snapshot before it/.test(e.message));
      assert.deepEqual(subvolumesIn(forged.dir), ['s1', 's2']);
      assert.deepEqual((await forged.receiver.listVersions('fs')).map((v) => v.guid), [v1.guid, all[1].guid]);
      // nor one that brings the same snapshot twice
      await assert.rejects(forged.receiver.receive('fs', Readable.from([Buffer.concat([oneByOne[1], oneByOne[1]])])), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_STREAM' && /comes twice/.test(e.message));
      assert.deepEqual((await forged.receiver.listVersions('fs')).map((v) => v.guid), [v1.guid, all[1].guid, all[2].guid]);
      assert.deepEqual(treeOf(join(forged.dir, 's3')), treeOf(join(snapDir(s, 'fs'), 's3')));
      assert.equal(runningBtrfsProcesses(), 0);
    });

    it('an input stream that fails halfway or an abort leaves no subvolume behind and the receiver as it was', async () => {
      const s = root(a, 's');
      const r = root(b, 'r');
      const sender = makeSender(s, ['fs'], 24);
      const [v1] = await sender.snapshot(['fs'], 's1');
      writeFileSync(join(s, 'fs', 'big.bin'), randomBytes(24 * 1024 * 1024));
      const [v2] = await sender.snapshot(['fs'], 's2');
      const receiver = createBtrfsDriver(r);
      await receiver.receive('fs', Readable.from([await sendAll(sender, 'fs', null, v1)]));
      writeFileSync(join(r, 'note.txt'), 'not ferry\n');
      mkdirSync(join(snapDir(r, 'fs'), 'some-dir'));
      const versionsBefore = await receiver.listVersions('fs');
      const incremental = await sendAll(sender, 'fs', v1, v2);
      const dir = snapDir(r, 'fs');

      // 1. the stream errors halfway (connection lost): btrfs receive had created s2 already
      const broken = stallingStream(incremental.subarray(0, incremental.length >> 1));
      const failing = receiver.receive('fs', broken.stream);
      await until('btrfs receive to create s2', () => subvolumesIn(dir).includes('s2'));
      broken.fail(new Error('connection lost'));
      await assert.rejects(failing, (e: unknown) => e instanceof TemporaryError && e.code === 'STREAM_ERROR' && /connection lost/.test(e.message));
      assert.deepEqual(subvolumesIn(dir), ['s1']);
      assert.deepEqual(await receiver.listVersions('fs'), versionsBefore);

      // 2. destroyed without an error
      const cut = stallingStream(incremental.subarray(0, incremental.length >> 1));
      const cutting = receiver.receive('fs', cut.stream);
      await until('btrfs receive to create s2', () => subvolumesIn(dir).includes('s2'));
      cut.fail();
      await assert.rejects(cutting, (e: unknown) => e instanceof TemporaryError);
      assert.deepEqual(subvolumesIn(dir), ['s1']);

      // 3. the abort signal
      const stalled = stallingStream(incremental.subarray(0, incremental.length >> 1));
      const ac = new AbortController();
      const aborting = receiver.receive('fs', stalled.stream, { signal: ac.signal });
      await until('btrfs receive to create s2', () => subvolumesIn(dir).includes('s2'));
      // meanwhile: the in-progress subvolume is no version, and a second receive neither waits nor deletes it
      assert.deepEqual(await receiver.listVersions('fs'), versionsBefore);
      await assert.rejects(receiver.receive('fs', Readable.from([incremental])), (e: unknown) => e instanceof TemporaryError && e.code === 'BUSY');
      assert.deepEqual(subvolumesIn(dir), ['s1', 's2']);
      ac.abort();
      await assert.rejects(aborting, (e: unknown) => (e as Error).name === 'AbortError');
      assert.deepEqual(subvolumesIn(dir), ['s1']);

      // 4. a stream that ends cleanly but without its END command: btrfs receive alone would accept it
      assert.equal(incremental.readUInt32LE(incremental.length - 10), 0);
      assert.equal(incremental.readUInt16LE(incremental.length - 6), CMD_END);
      await assert.rejects(receiver.receive('fs', Readable.from([incremental.subarray(0, incremental.length - 10)])), (e: unknown) => e instanceof TemporaryError && e.code === 'TRUNCATED_STREAM');
      assert.deepEqual(subvolumesIn(dir), ['s1']);

      assert.deepEqual(await receiver.listVersions('fs'), versionsBefore);
      assert.equal(readFileSync(join(r, 'note.txt'), 'utf8'), 'not ferry\n');
      assert.ok(lstatSync(join(dir, 'some-dir')).isDirectory());
      assert.equal(runningBtrfsProcesses(), 0);
      // and the whole stream still applies afterwards
      assert.equal((await receiver.receive('fs', Readable.from([incremental]))).guid, v2.guid);
      assert.deepEqual(treeOf(join(dir, 's2')), treeOf(join(snapDir(s, 'fs'), 's2')));
    });

    it('a partial subvolume left by a crashed receive is deleted before the next receive, nothing else is', async () => {
      const s = root(a, 's');
      const r = root(b, 'r');
      const sender = makeSender(s, ['fs'], 8);
      const [v1] = await sender.snapshot(['fs'], 's1');
      writeFileSync(join(s, 'fs', 'more.bin'), randomBytes(8 * 1024 * 1024));
      const [v2] = await sender.snapshot(['fs'], 's2');
      const receiver = createBtrfsDriver(r);
      await receiver.receive('fs', Readable.from([await sendAll(sender, 'fs', null, v1)]));
      const dir = snapDir(r, 'fs');
      const incremental = await sendAll(sender, 'fs', v1, v2);
      // what a receive killed halfway leaves: btrfs receive itself on a truncated stream
      const crashed = shStatus('btrfs', ['receive', dir], incremental.subarray(0, incremental.length >> 1));
      assert.notEqual(crashed.status, 0);
      const partial = subvolumeFields(join(dir, 's2'));
      assert.equal(partial.readonly, false);
      assert.equal(partial.receivedUuid, '-');
      assert.deepEqual((await receiver.listVersions('fs')).map((v) => v.name), ['s1'], 'a partial subvolume is not a version');

      const got = await receiver.receive('fs', Readable.from([incremental]));
      assert.equal(got.guid, v2.guid);
      assert.deepEqual(subvolumesIn(dir), ['s1', 's2']);
      assert.equal(subvolumeFields(join(dir, 's2')).receivedUuid, v2.guid);
      assert.deepEqual(treeOf(join(dir, 's2')), treeOf(join(snapDir(s, 'fs'), 's2')));

      // a leftover under another name is found too, even when the receive then has nothing to do
      sh('btrfs', ['-q', 'subvolume', 'create', join(dir, 'half-received')]);
      assert.deepEqual(await receiver.receive('fs', Readable.from([incremental])), got);
      assert.deepEqual(subvolumesIn(dir), ['s1', 's2']);
    });

    it('send: the stream fails with a typed error when btrfs send fails, and stops btrfs send on abort or when its reader goes away', async () => {
      const failed = processOutput(spawnBtrfs(['-q', 'send', '/nonexistent/snapshot']));
      await assert.rejects(collect(failed), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_FOUND' && /btrfs -q send/.test(e.message));

      const s = root(a, 's');
      const sender = makeSender(s, ['fs'], 16);
      const [v1] = await sender.snapshot(['fs'], 's1');
      const ac = new AbortController();
      const { stream } = await sender.send('fs', null, v1, { signal: ac.signal });
      assert.equal(runningBtrfsProcesses(), 1);
      const reading = collect(stream);
      ac.abort();
      await assert.rejects(reading, (e: unknown) => (e as Error).name === 'AbortError');
      await until('btrfs send to exit', () => runningBtrfsProcesses() === 0);

      // the consumer fails after the first chunk (a receiver that gave up): btrfs send must not block forever
      const second = await sender.send('fs', null, v1);
      const sink = new Writable({ write: (_c, _e, cb) => cb(new Error('receiver gone')) });
      sink.on('error', () => undefined);
      second.stream.pipe(sink);
      await until('btrfs send to exit after its reader went away', () => runningBtrfsProcesses() === 0);
    });

    it('destroySnapshot deletes that one read-only snapshot, nothing else; incrementals go on from the remaining ones', async () => {
      const s = root(a, 's');
      const r = root(b, 'r');
      const sender = makeSender(s, ['fs', 'other'], 2);
      const [v1] = await sender.snapshot(['fs', 'other'], 's1');
      writeFileSync(join(s, 'fs', 'a.txt'), 'second\n');
      const [v2] = await sender.snapshot(['fs'], 's2');
      writeFileSync(join(s, 'fs', 'new.txt'), 'third\n');
      const [v3] = await sender.snapshot(['fs'], 's3');
      const receiver = createBtrfsDriver(r);
      await receiver.receive('fs', (await sender.send('fs', null, v1)).stream);
      await receiver.receive('fs', (await sender.send('fs', v1, v2)).stream);
      const s2Tree = treeOf(join(snapDir(s, 'fs'), 's2'));
      const liveTree = treeOf(join(s, 'fs'));

      await sender.destroySnapshot('fs', 's1');
      assert.deepEqual(subvolumesIn(snapDir(s, 'fs')), ['s2', 's3']);
      assert.deepEqual((await sender.listVersions('fs')).map((v) => v.guid), [v2.guid, v3.guid]);
      assert.deepEqual(subvolumesIn(snapDir(s, 'other')), ['s1'], 'the same name of another filesystem stays');
      assert.deepEqual(treeOf(join(snapDir(s, 'fs'), 's2')), s2Tree);
      assert.deepEqual(treeOf(join(s, 'fs')), liveTree, 'the live subvolume stays');
      assert.deepEqual(await sender.listFilesystems(), ['fs', 'other']);

      await receiver.destroySnapshot('fs', 's1');
      assert.deepEqual((await receiver.listVersions('fs')).map((v) => v.guid), [v2.guid]);
      assert.equal((await receiver.receive('fs', (await sender.send('fs', v2, v3)).stream)).guid, v3.guid);
      assert.deepEqual(treeOf(join(snapDir(r, 'fs'), 's3')), treeOf(join(snapDir(s, 'fs'), 's3')));

      await assert.rejects(sender.destroySnapshot('fs', 's1'), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_NOT_FOUND' && e.message.includes('fs@s1'));
      await assert.rejects(sender.destroySnapshot('nope', 's2'), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_NOT_FOUND' && e.message.includes('nope@s2'));
      await assert.rejects(createBtrfsDriver(join(s, 'missing')).destroySnapshot('fs', 's2'), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_NOT_FOUND');
      assert.equal(existsSync(join(s, 'missing')), false);
      // a writable subvolume there is no version (an interrupted receive's leftover): not destroyed by this call
      sh('btrfs', ['-q', 'subvolume', 'create', join(snapDir(r, 'fs'), 'half')]);
      await assert.rejects(receiver.destroySnapshot('fs', 'half'), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_NOT_FOUND' && /writable/.test(e.message));
      assert.deepEqual(subvolumesIn(snapDir(r, 'fs')), ['half', 's2', 's3']);
    });

    it('invalid names are refused before any btrfs command runs', async () => {
      const s = root(a, 's');
      const driver = makeSender(s, ['ok']);
      const good: Version = { name: 's1', guid: '3076d8be-e9b0-9148-ab70-f682bf958d5e', createtxg: 1 };
      const bad = ['has space', 'semi;colon', '..', 'a..b', 'a/b', '/abs', '-rf', '.ferry', '', 'ünï', 'x$(id)', 'x'.repeat(256)];
      const calls = btrfsCallCount();
      for (const name of bad) {
        const named = (e: unknown) => e instanceof InvalidArgumentError && e.message.includes(quote(name));
        await assert.rejects(driver.listVersions(name), named, `listVersions ${name}`);
        await assert.rejects(driver.snapshot([name], 's1'), named, `snapshot fs ${name}`);
        await assert.rejects(driver.snapshot(['ok'], name), named, `snapshot name ${name}`);
        await assert.rejects(driver.send(name, null, good), named, `send fs ${name}`);
        await assert.rejects(driver.send('ok', null, { ...good, name }), named, `send to ${name}`);
        await assert.rejects(driver.send('ok', { ...good, name }, good), named, `send from ${name}`);
        await assert.rejects(driver.receive(name, Readable.from([Buffer.alloc(10)])), named, `receive ${name}`);
        await assert.rejects(driver.destroySnapshot(name, 's1'), named, `destroySnapshot fs ${name}`);
        await assert.rejects(driver.destroySnapshot('ok', name), named, `destroySnapshot name ${name}`);
      }
      await assert.rejects(driver.send('ok', null, { ...good, guid: 'x; rm -rf /' }), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'INVALID_GUID');
      assert.throws(() => createBtrfsDriver('relative/path'), InvalidArgumentError);
      assert.equal(btrfsCallCount(), calls, 'no btrfs command ran');
      assert.deepEqual(readdirSync(s).sort(), ['ok'], 'nothing was created');
    });
  });

  describe('replication through the engine', () => {
    let redis: EmbeddedRedis;
    let engine: Engine;
    before(async () => {
      redis = await startTestRedis();
      engine = replicationEngine(redis.url);
    });
    after(async () => {
      await engine?.close();
      await redis?.stop();
    });

    /** A sender root on `a` with `fss` (makeSender), and a receiver root on `b` that the first receive makes. */
    const ends = (tag: string, fss: string[], bigMiB = 0) => {
      const s = root(a, `${tag}s`);
      return { s, r: join(b.dir, `${tag}r-${++counter}`), sender: makeSender(s, fss, bigMiB) };
    };
    /** replicateStep's context outside an engine: a silent log, progress dropped */
    const stepContext = (signal = new AbortController().signal) =>
      ({ machineId: 'm', childId: 'c', attempt: 1, signal, log: createLogger({ level: 'silent' }), progress: () => undefined }) as unknown as EffectContext;
    /** replicateStep's input: one step of `fs` from root `s` to root `r` */
    const stepInput = (s: string, r: string, fs: string, step: { from: Version; to: Version; intermediates?: boolean }) =>
      ({ sender: `btrfs:${s}`, receiver: `btrfs:${r}`, filesystem: fs, step, index: 0, total: 1 }) as unknown as ReplicateStepInput;

    it('full then incremental replication: the receiver has the sender\'s versions and data', async () => {
      const { s, r, sender } = ends('e', ['one', 'two'], 1);
      await sender.snapshot(['one', 'two'], 's1');
      const opts = { sender: `btrfs:${s}`, receiver: `btrfs:${r}` };
      const full = await replicate(engine, opts);
      assert.equal(full.state, 'Completed', JSON.stringify(full));
      assert.deepEqual(full.filesystems.map((f) => [f.name, f.state, f.stepsDone, f.stepsTotal]), [['one', 'Completed', 1, 1], ['two', 'Completed', 1, 1]]);
      assert.ok(full.filesystems.every((f) => f.bytes > 1024 * 1024));
      assert.deepEqual(treeOf(join(snapDir(r, 'one'), 's1')), treeOf(join(snapDir(s, 'one'), 's1')));

      writeFileSync(join(s, 'one', 'new.txt'), 'new\n');
      rmSync(join(s, 'two', 'a.txt'));
      await sender.snapshot(['one', 'two'], 's2');
      await sender.snapshot(['one', 'two'], 's3');
      const inc = await replicate(engine, opts);
      assert.equal(inc.state, 'Completed', JSON.stringify(inc));
      assert.deepEqual(inc.filesystems.map((f) => f.stepsTotal), [2, 2]);
      const receiver = createBtrfsDriver(r);
      for (const fs of ['one', 'two']) {
        assert.deepEqual((await receiver.listVersions(fs)).map((v) => v.guid), (await sender.listVersions(fs)).map((v) => v.guid));
        for (const snap of ['s1', 's2', 's3']) assert.deepEqual(treeOf(join(snapDir(r, fs), snap)), treeOf(join(snapDir(s, fs), snap)));
      }
      const again = await replicate(engine, opts);
      assert.equal(again.state, 'Completed');
      assert.deepEqual(again.filesystems.map((f) => f.stepsTotal), [0, 0], 'up to date: nothing to send');
      assert.equal(runningBtrfsProcesses(), 0);
    });

    it('local btrfs -> btrfs steps take the fast path (OS pipes); an aborted fast-path step leaves the receiver as it was, a retry succeeds', async () => {
      const { s, r, sender } = ends('f', ['one'], 2);
      await sender.snapshot(['one'], 's1');
      const n0 = localTransferCount();
      const full = await replicate(engine, { sender: `btrfs:${s}`, receiver: `btrfs:${r}` });
      assert.equal(full.state, 'Completed', JSON.stringify(full));
      assert.equal(localTransferCount() - n0, 1, 'the step went through the local pipe');
      const [v1] = await sender.listVersions('one');
      // the fast path sends with the newest protocol this host's kernel and btrfs-progs share (2 here:
      // writes of 128 KiB, not 48), a stream through Node with btrfs send's default, which any receiver takes
      const protocol = await localSendProtocol();
      assert.equal(full.filesystems[0].bytes, sendLength(s, 'one', null, ['s1'], protocol), 'the fast path counts exactly the stream bytes');
      if (process.env.CI) assert.equal(protocol, 2, 'this machine kind (kernel 6.x, btrfs-progs 6.x) sends with protocol 2');
      const { stream } = await sender.send('one', null, v1);
      const node = (await collect(stream)).length;
      assert.equal(node, sendLength(s, 'one', null, ['s1'], 1), 'a stream that may leave the host is of protocol 1');
      if (protocol > 1) assert.notEqual(full.filesystems[0].bytes, node, `the fast path used protocol ${protocol}, not 1`);

      writeFileSync(join(s, 'one', 'more.bin'), randomBytes(64 * 1024 * 1024));
      await sender.snapshot(['one'], 's2');
      const [, v2] = await sender.listVersions('one');
      const receiver = createBtrfsDriver(r);
      const before = await receiver.listVersions('one');
      const input = stepInput(s, r, 'one', { from: v1, to: v2 });
      const ac = new AbortController();
      const ctx = stepContext(ac.signal);
      const n1 = localTransferCount();
      const watch = setInterval(() => { if (localTransferCount() > n1) ac.abort(); }, 2);
      try {
        await assert.rejects(replicateStep(input, ctx, new FerryMetrics()));
      } finally {
        clearInterval(watch);
      }
      assert.ok(localTransferCount() > n1);
      assert.deepEqual(await receiver.listVersions('one'), before, 'the receiver is as before');
      assert.deepEqual(readdirSync(snapDir(r, 'one')).sort(), ['s1'], 'no partial subvolume left');
      const retry = await replicateStep(input, { ...ctx, signal: new AbortController().signal }, new FerryMetrics());
      assert.ok(retry.bytes > 64 * 1024 * 1024, `bytes: ${retry.bytes}`);
      assert.deepEqual((await receiver.listVersions('one')).map((v) => v.guid), [v1.guid, v2.guid]);
      assert.deepEqual(treeOf(join(snapDir(r, 'one'), 's2')), treeOf(join(snapDir(s, 'one'), 's2')));
      assert.equal(runningBtrfsProcesses(), 0);
    });

    it('through agents (grpc://) a stream is of the newest protocol both ends read (DescribeReceiver): 2 here; an agent kept on 1 gets 1, and compressed data sent to it is refused, naming the receiver', async () => {
      const { s, r, sender } = ends('g', ['one'], 2);
      await sender.snapshot(['one'], 's1');
      const r1 = join(b.dir, `g1r-${++counter}`);
      const tokenFile = join(b.dir, `g-token-${counter}`);
      writeFileSync(tokenFile, 'btrfs-agent-test-token-0123456789\n', { mode: 0o600 });
      const savedToken = process.env.FERRY_TOKEN_FILE;
      process.env.FERRY_TOKEN_FILE = tokenFile;
      const agents = await Promise.all([
        // one agent both sends and receives: its stream still goes out through Node and back
        startAgent([`btrfs:${s}`, `btrfs:${r}`], tokenFile),
        // this host's btrfs-progs, told to keep version 1 (what an older btrfs-progs reads)
        startAgent([`btrfs:${r1}`], tokenFile, { FERRY_BTRFS_SEND_PROTOCOL: '1' }),
      ]);
      const [ga, g1] = agents.map((x) => `grpc://127.0.0.1:${x.port}`);
      const gb = ga;
      try {
        const protocol = await localSendProtocol();
        const md = new grpc.Metadata();
        md.set('authorization', 'Bearer btrfs-agent-test-token-0123456789');
        const describe = (port: number, endpoint: string) => new Promise<number>((resolve, reject) => {
          const c = newEndpointClient(`127.0.0.1:${port}`);
          c.describeReceiver({ endpoint }, md, (err, res) => { c.close(); if (err) reject(err); else resolve(res!.btrfsStreamProtocol ?? 0); });
        });
        assert.equal(await describe(agents[0].port, `btrfs:${r}`), protocol);
        assert.equal(await describe(agents[1].port, `btrfs:${r1}`), 1);

        // agent to agent: the sending agent is told what the receiving one reads
        const full = await replicate(engine, { sender: `${ga}/btrfs:${s}`, receiver: `${gb}/btrfs:${r}` });
        assert.equal(full.state, 'Completed', JSON.stringify(full));
        assert.equal(full.filesystems[0].bytes, sendLength(s, 'one', null, ['s1'], protocol), `a stream of protocol ${protocol}`);
        if (process.env.CI) assert.equal(protocol, 2);
        if (protocol > 1) assert.notEqual(full.filesystems[0].bytes, sendLength(s, 'one', null, ['s1'], 1));
        assert.deepEqual(treeOf(join(snapDir(r, 'one'), 's1')), treeOf(join(snapDir(s, 'one'), 's1')));
        // a local sender, the same
        writeFileSync(join(s, 'one', 'new.txt'), 'new\n'.repeat(100_000));
        await sender.snapshot(['one'], 's2');
        const inc = await replicate(engine, { sender: `btrfs:${s}`, receiver: `${gb}/btrfs:${r}` });
        assert.equal(inc.state, 'Completed', JSON.stringify(inc));
        assert.equal(inc.filesystems[0].bytes, sendLength(s, 'one', 's1', ['s2'], protocol));
        assert.deepEqual(treeOf(join(snapDir(r, 'one'), 's2')), treeOf(join(snapDir(s, 'one'), 's2')));

        // a receiver that reads version 1 only gets version 1, and no compressed data
        const old = await replicate(engine, { sender: `${ga}/btrfs:${s}`, receiver: `${g1}/btrfs:${r1}`, initial: 'all' });
        assert.equal(old.state, 'Completed', JSON.stringify(old));
        assert.equal(old.filesystems[0].bytes, sendLength(s, 'one', null, ['s1'], 1) + sendLength(s, 'one', 's1', ['s2'], 1), 'streams of protocol 1');
        assert.deepEqual(treeOf(join(snapDir(r1, 'one'), 's2')), treeOf(join(snapDir(s, 'one'), 's2')));
        if (protocol > 1) {
          await sender.snapshot(['one'], 's3');
          const refused = await replicate(engine, { sender: `${ga}/btrfs:${s}`, receiver: `${g1}/btrfs:${r1}`, send: { compressed: true } });
          assert.notEqual(refused.state, 'Completed');
          assert.match(JSON.stringify(refused), /send\.compressed: the receiver's btrfs cannot read compressed data/);
          assert.deepEqual((await createBtrfsDriver(r1).listVersions('one')).map((v) => v.name), ['s1', 's2'], 'nothing was received');
        }
      } finally {
        closeRemoteClients();
        await Promise.all(agents.map((x) => stopProcess(x.child)));
        if (savedToken === undefined) delete process.env.FERRY_TOKEN_FILE;
        else process.env.FERRY_TOKEN_FILE = savedToken;
      }
    });

    it('with send.compressed, compressed extents travel compressed (btrfs send --compressed-data) on the fast path and through the stream, and stay compressed on the receiver', async () => {
      const { s, r, sender } = ends('z', ['one']);
      // compressible data written compressed: files inherit their directory's compression property
      const dir = join(s, 'one', 'z');
      mkdirSync(dir);
      sh('btrfs', ['property', 'set', dir, 'compression', 'zstd']);
      writeFileSync(join(dir, 'text.txt'), 'ferry sends compressed extents as they are\n'.repeat(200_000)); // 8.8 MB
      await sender.snapshot(['one'], 's1');
      const encoded = (root: string, snap: string, file: string) => sh('filefrag', ['-v', join(snapDir(root, 'one'), snap, 'z', file)]);
      assert.match(encoded(s, 's1', 'text.txt'), /encoded/, 'the sender\'s extents are compressed');
      const opts = { sender: `btrfs:${s}`, receiver: `btrfs:${r}`, send: { compressed: true } };
      if ((await localSendProtocol()) < 2) {
        // a host without stream protocol 2 (Linux or btrfs-progs before 6.0) refuses it, naming the option
        const refused = await replicate(engine, opts);
        assert.notEqual(refused.state, 'Completed');
        assert.match(JSON.stringify(refused), /send\.compressed: this host's btrfs cannot send compressed data/);
        return;
      }
      const n0 = localTransferCount();
      const full = await replicate(engine, opts);
      assert.equal(full.state, 'Completed', JSON.stringify(full));
      assert.equal(localTransferCount() - n0, 1, 'the fast path');
      const decompressed = sendLength(s, 'one', null, ['s1'], 2);
      assert.equal(full.filesystems[0].bytes, sendLength(s, 'one', null, ['s1'], 2, true), 'exactly the compressed stream');
      assert.ok(full.filesystems[0].bytes * 10 < decompressed, `${full.filesystems[0].bytes} bytes sent, ${decompressed} decompressed`);
      assert.deepEqual(treeOf(join(snapDir(r, 'one'), 's1')), treeOf(join(snapDir(s, 'one'), 's1')));
      assert.match(encoded(r, 's1', 'text.txt'), /encoded/, 'the receiver\'s extents are compressed too');

      // through Node (a bandwidth limit keeps a step off the fast path)
      writeFileSync(join(dir, 'more.txt'), 'and the stream path too\n'.repeat(200_000));
      await sender.snapshot(['one'], 's2');
      const n1 = localTransferCount();
      const inc = await replicate(engine, { ...opts, send: { compressed: true, bandwidthLimit: '1G' } });
      assert.equal(inc.state, 'Completed', JSON.stringify(inc));
      assert.equal(localTransferCount(), n1, 'through the stream');
      assert.equal(inc.filesystems[0].bytes, sendLength(s, 'one', 's1', ['s2'], 2, true));
      assert.ok(inc.filesystems[0].bytes * 10 < sendLength(s, 'one', 's1', ['s2'], 2));
      assert.deepEqual(treeOf(join(snapDir(r, 'one'), 's2')), treeOf(join(snapDir(s, 'one'), 's2')));
      assert.match(encoded(r, 's2', 'more.txt'), /encoded/);
      assert.equal(runningBtrfsProcesses(), 0);
    });

    it('with batch, a local step carries every snapshot between in one OS pipe; a batch goes on from what arrived; a namesake on the receiver stops it before anything is sent', async () => {
      const { s, r, sender } = ends('b', ['one'], 1);
      await sender.snapshot(['one'], 's1');
      const opts = { sender: `btrfs:${s}`, receiver: `btrfs:${r}`, batch: true };
      assert.equal((await replicate(engine, opts)).state, 'Completed');
      const snap = async (names: string[]) => {
        for (const name of names) {
          writeFileSync(join(s, 'one', `${name}.txt`), `${name}\n`);
          await sender.snapshot(['one'], name);
        }
      };
      await snap(['s2', 's3', 's4']);
      const n0 = localTransferCount();
      const run = await replicate(engine, opts);
      assert.equal(run.state, 'Completed', JSON.stringify(run));
      assert.deepEqual(run.filesystems.map((f) => [f.stepsDone, f.stepsTotal]), [[1, 1]], 'one step for s2, s3 and s4');
      assert.equal(localTransferCount() - n0, 1, 'the step went through the local pipe');
      const receiver = createBtrfsDriver(r);
      let all = await sender.listVersions('one');
      assert.deepEqual((await receiver.listVersions('one')).map((v) => v.guid), all.map((v) => v.guid));
      for (const name of ['s2', 's3', 's4']) assert.deepEqual(treeOf(join(snapDir(r, 'one'), name)), treeOf(join(snapDir(s, 'one'), name)));
      const protocol = await localSendProtocol();
      const batchBytes = (from: Version, to: Version) => sendLength(s, 'one', from.name, all.slice(all.indexOf(from) + 1, all.indexOf(to) + 1).map((v) => v.name), protocol);
      assert.equal(run.filesystems[0].bytes, batchBytes(all[0], all[3]), 'the fast path counts exactly the batch stream');
      // and on from that receiver (A -> B -> C): its snapshots are a received chain, not siblings
      const r2 = join(b.dir, `br2-${++counter}`);
      const cascade = await replicate(engine, { sender: `btrfs:${r}`, receiver: `btrfs:${r2}`, batch: true, initial: 'all' });
      assert.deepEqual(cascade.filesystems.map((f) => [f.state, f.stepsTotal]), [['Completed', 2]], JSON.stringify(cascade));
      assert.deepEqual((await createBtrfsDriver(r2).listVersions('one')).map((v) => v.guid), all.map((v) => v.guid));
      assert.deepEqual(treeOf(join(snapDir(r2, 'one'), 's4')), treeOf(join(snapDir(s, 'one'), 's4')));

      await snap(['s5', 's6', 's7']);
      all = await sender.listVersions('one');
      const ctx = stepContext();
      const step = (from: Version, to: Version, intermediates = false) => stepInput(s, r, 'one', { from, to, ...(intermediates ? { intermediates } : {}) });
      // s5 arrived alone (as a batch cut after it leaves it)
      await replicateStep(step(all[3], all[4]), ctx, new FerryMetrics());
      // something else named s7 on the receiver: refused before anything of the batch is sent
      mkdirSync(join(snapDir(r, 'one'), 's7'));
      await assert.rejects(replicateStep(step(all[3], all[6], true), ctx, new FerryMetrics()), (e: unknown) => e instanceof PermanentError && e.code === 'SNAPSHOT_EXISTS' && /s7/.test(e.message));
      assert.deepEqual((await receiver.listVersions('one')).map((v) => v.name), ['s1', 's2', 's3', 's4', 's5']);
      rmSync(join(snapDir(r, 'one'), 's7'), { recursive: true });
      // the batch from s4 goes on from s5, the newest that arrived
      const done = await replicateStep(step(all[3], all[6], true), ctx, new FerryMetrics());
      assert.equal(done.bytes, batchBytes(all[4], all[6]));
      assert.deepEqual((await receiver.listVersions('one')).map((v) => v.guid), all.map((v) => v.guid));
      assert.deepEqual(treeOf(join(snapDir(r, 'one'), 's7')), treeOf(join(snapDir(s, 'one'), 's7')));

      // aborted once s9 began: s8 arrived complete and stays, the subvolume being made is deleted
      await snap(['s8']);
      writeFileSync(join(s, 'one', 'big9.bin'), randomBytes(32 * 1024 * 1024));
      await snap(['s9', 's10']);
      all = await sender.listVersions('one');
      const dir = snapDir(r, 'one');
      const ac = new AbortController();
      const watch = setInterval(() => { if (existsSync(join(dir, 's9'))) ac.abort(); }, 2);
      try {
        await assert.rejects(replicateStep(step(all[6], all[9], true), { ...ctx, signal: ac.signal }, new FerryMetrics()));
      } finally {
        clearInterval(watch);
      }
      const kept = (await receiver.listVersions('one')).map((v) => v.name);
      assert.deepEqual(kept.slice(0, 8), ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'], 's8 arrived before s9 began');
      assert.deepEqual(subvolumesIn(dir), [...kept].sort(), 'no partial subvolume left');
      assert.equal((await replicateStep(step(all[6], all[9], true), ctx, new FerryMetrics())).bytes > 0, true);
      assert.deepEqual((await receiver.listVersions('one')).map((v) => v.guid), all.map((v) => v.guid));
      assert.deepEqual(treeOf(join(dir, 's9')), treeOf(join(snapDir(s, 'one'), 's9')));
      assert.equal(runningBtrfsProcesses(), 0);
    });

    it('a batch btrfs send cannot make one stream of (the live subvolume restored from a snapshot) goes one snapshot at a time, in the same step', async () => {
      const { s, r, sender } = ends('r', ['one'], 1);
      await sender.snapshot(['one'], 's1');
      assert.equal((await replicate(engine, { sender: `btrfs:${s}`, receiver: `btrfs:${r}`, batch: true })).state, 'Completed');
      writeFileSync(join(s, 'one', 's2.txt'), 's2\n');
      await sender.snapshot(['one'], 's2');
      // a restore as operators do it: the live subvolume replaced by a writable snapshot of s2
      sh('btrfs', ['-q', 'subvolume', 'delete', join(s, 'one')]);
      sh('btrfs', ['-q', 'subvolume', 'snapshot', join(snapDir(s, 'one'), 's2'), join(s, 'one')]);
      writeFileSync(join(s, 'one', 's3.txt'), 's3\n');
      await sender.snapshot(['one'], 's3');
      const all = await sender.listVersions('one');
      // s2's origin is gone: btrfs send -c cannot pick its parent
      await assert.rejects(collect((await sender.send('one', all[0], all[2], { intermediates: true })).stream), (e: unknown) => e instanceof PermanentError && e.code === 'BATCH_UNSUPPORTED');
      const run = await replicate(engine, { sender: `btrfs:${s}`, receiver: `btrfs:${r}`, batch: true });
      assert.equal(run.state, 'Completed', JSON.stringify(run));
      assert.deepEqual(run.filesystems.map((f) => [f.stepsDone, f.stepsTotal]), [[1, 1]], 'still one step');
      const receiver = createBtrfsDriver(r);
      assert.deepEqual((await receiver.listVersions('one')).map((v) => v.guid), all.map((v) => v.guid));
      for (const name of ['s2', 's3']) assert.deepEqual(treeOf(join(snapDir(r, 'one'), name)), treeOf(join(snapDir(s, 'one'), name)));
      assert.equal(runningBtrfsProcesses(), 0);
    });

    it('ferry replicate that sent many snapshots one step each says --batch would send them in one stream; with --batch it does', async () => {
      const { s, r, sender } = ends('h', ['one']);
      const snap = async (from: number, to: number) => {
        for (let i = from; i <= to; i++) {
          writeFileSync(join(s, 'one', 'n.txt'), `${i}\n`);
          await sender.snapshot(['one'], `h${String(i).padStart(2, '0')}`);
        }
      };
      const cli = (args: string[]) => runProcess(process.execPath, ['bin/ferry.mjs', '--key-prefix', `hint${process.pid}`, 'replicate', `btrfs:${s}`, `btrfs:${r}`, '--initial', 'all', ...args], { env: { REDIS_URL: redis.url, FERRY_LOG_LEVEL: 'warn' }, timeoutMs: 180_000 });
      await snap(1, 11);
      const one = await cli([]);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stderr, /ferry: one took 11 steps, one per snapshot; --batch sends a filesystem's pending snapshots in one stream/);
      await snap(12, 22);
      const batched = await cli(['--batch']);
      assert.equal(batched.code, 0, batched.stderr);
      assert.doesNotMatch(batched.stderr, /one per snapshot/);
      assert.match(batched.stdout, /one\s+Completed\s+1\/1 /, 'the ten snapshots in one step');
      assert.equal((await createBtrfsDriver(r).listVersions('one')).length, 22);
      // endpoints that cannot batch (dir) get no such hint
      const report = { filesystems: [{ name: 'one', stepsDone: 11 }] } as unknown as Parameters<typeof batchHint>[0];
      assert.equal(batchHint(report, { sender: 'dir:/x', receiver: 'dir:/y', batch: false }), null);
      assert.match(batchHint(report, { sender: `btrfs:${s}`, receiver: `btrfs:${r}`, batch: false }) ?? '', /--batch/);
    });

    it('initial replication policies on an empty receiver: most_recent, all, fail', async () => {
      const s = root(a, 'ps');
      const sender = makeSender(s, ['x']);
      for (const snap of ['s1', 's2', 's3']) await sender.snapshot(['x'], snap);
      const r = (tag: string) => join(b.dir, `${tag}-${++counter}`);
      const r1 = r('mr');
      const mr = await replicate(engine, { sender: `btrfs:${s}`, receiver: `btrfs:${r1}` });
      assert.equal(mr.state, 'Completed', JSON.stringify(mr));
      assert.equal(mr.filesystems[0].stepsTotal, 1);
      assert.deepEqual((await createBtrfsDriver(r1).listVersions('x')).map((v) => v.name), ['s3']);
      const r2 = r('all');
      const all = await replicate(engine, { sender: `btrfs:${s}`, receiver: `btrfs:${r2}`, initial: 'all' });
      assert.equal(all.state, 'Completed', JSON.stringify(all));
      assert.deepEqual((await createBtrfsDriver(r2).listVersions('x')).map((v) => v.name), ['s1', 's2', 's3']);
      const r3 = r('fail');
      const fail = await replicate(engine, { sender: `btrfs:${s}`, receiver: `btrfs:${r3}`, initial: 'fail' });
      assert.equal(fail.state, 'PermanentError');
      assert.equal(fail.filesystems[0].state, 'PermanentError');
      assert.match(fail.filesystems[0].problem ?? '', /fail/);
      assert.deepEqual(await createBtrfsDriver(r3).listVersions('x'), []);
    });

    it('a diverged receiver ends in PermanentError and is left untouched; other filesystems complete', async () => {
      const { s, r, sender } = ends('d', ['ok', 'div']);
      await sender.snapshot(['ok', 'div'], 's1');
      await sender.snapshot(['ok', 'div'], 's2');
      const opts = { sender: `btrfs:${s}`, receiver: `btrfs:${r}`, initial: 'all' as const };
      assert.equal((await replicate(engine, opts)).state, 'Completed');
      // the sender loses s2 and takes s3: the receiver's s2 is not on the sender's path any more
      sh('btrfs', ['-q', 'subvolume', 'delete', join(snapDir(s, 'div'), 's2')]);
      await sender.snapshot(['ok', 'div'], 's3');
      const receiver = createBtrfsDriver(r);
      const before = { versions: await receiver.listVersions('div'), subvolumes: subvolumesIn(snapDir(r, 'div')), tree: treeOf(join(snapDir(r, 'div'), 's2')) };
      const rep = await replicate(engine, opts);
      assert.equal(rep.state, 'PermanentError');
      const div = rep.filesystems.find((f) => f.name === 'div')!;
      assert.equal(div.state, 'PermanentError');
      assert.match(div.problem ?? '', /s2/);
      assert.equal(rep.filesystems.find((f) => f.name === 'ok')!.state, 'Completed');
      assert.deepEqual(await receiver.listVersions('div'), before.versions);
      assert.deepEqual(subvolumesIn(snapDir(r, 'div')), before.subvolumes);
      assert.deepEqual(treeOf(join(snapDir(r, 'div'), 's2')), before.tree);
      assert.deepEqual((await receiver.listVersions('ok')).map((v) => v.name), ['s1', 's2', 's3']);
    });

    it('no common version and a sender without snapshots are conflicts for that filesystem only', async () => {
      const sa = root(a, 'na');
      const r = join(b.dir, `nr-${++counter}`);
      const first = makeSender(sa, ['fs']);
      await first.snapshot(['fs'], 's1');
      assert.equal((await replicate(engine, { sender: `btrfs:${sa}`, receiver: `btrfs:${r}` })).state, 'Completed');
      const sb = root(a, 'nb');
      const second = makeSender(sb, ['fs', 'empty']);
      await second.snapshot(['fs'], 's1');
      const rep = await replicate(engine, { sender: `btrfs:${sb}`, receiver: `btrfs:${r}` });
      assert.equal(rep.state, 'PermanentError');
      assert.match(rep.filesystems.find((f) => f.name === 'fs')!.problem ?? '', /common/);
      assert.match(rep.filesystems.find((f) => f.name === 'empty')!.problem ?? '', /no snapshots/);
      assert.deepEqual((await createBtrfsDriver(r).listVersions('fs')).map((v) => v.guid), (await first.listVersions('fs')).map((v) => v.guid));
      assert.deepEqual(subvolumesIn(snapDir(r, 'fs')), ['s1']);
      assert.equal(existsSync(snapDir(r, 'empty')), false);
    });

    it('pruning after each firing: each side holds what its rules keep, the incremental base survives, a dry run destroys nothing', async () => {
      const s = root(a, 'ps');
      const sender = makeSender(s, ['one', 'two']);
      const receivers = [createBtrfsDriver(join(b.dir, `pr-${++counter}`)), createBtrfsDriver(join(b.dir, `pr-${++counter}`))];
      const { engine: jobEngine, jobs } = jobsEngine(redis.url);
      try {
        await assertRetentionSeries(jobEngine, jobs, {
          job: 'btrfs-prune', sender, receivers, firings: 5, senderKeep: 2, receiverKeep: 3, foreign: { filesystem: 'one', name: 'manual_1' },
          beforeFiring: async (i) => writeFileSync(join(s, 'one', `f${i}.txt`), `${i}\n`),
        });
        // nothing but the snapshots the rules dropped went: the live subvolumes stay
        assert.deepEqual(await sender.listFilesystems(), ['one', 'two']);
        assert.deepEqual(subvolumesIn(snapDir(s, 'two')).length, 2);
      } finally {
        await jobEngine.close();
      }
      assert.equal(runningBtrfsProcesses(), 0);
    });
  });
});
