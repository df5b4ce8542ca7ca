import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import type { Engine } from '../src/engine/engine.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { FerryError, InvalidArgumentError, PermanentError, TemporaryError } from '../src/errors/index.js';
import { createLogger } from '../src/util/logger.js';
import type { StorageDriver, Version } from '../src/storage/driver.js';
import { openEndpoint } from '../src/storage/endpoint.js';
import { parseUsage, setZfsLogger, zfsCommandCount, zfsFeatures, createZfsDriver, type ZfsDriver } from '../src/storage/zfs/index.js';
import { parseStreamHeader } from '../src/storage/zfs/stream-header.js';
import { parseDryRunSize } from '../src/storage/zfs/send.js';
import { zfsError } from '../src/storage/zfs/run-zfs.js';
import { startTestRedis } from './helpers/redis.js';
import { captureLog } from './helpers/log-capture.js';
import { execFileSync } from 'node:child_process';
import { cursorName, stepHoldTag } from '../src/replication/cursors.js';
import { destroyPlanned, planPrune } from '../src/replication/pruning-effects.js';
import type { DestroySnapshotInput } from '../machines/pruning.js';
import { localTransferCount, relayCount } from '../src/storage/local-pipe.js';
import { replicateStep } from '../src/replication/step-runner.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import type { ReplicateStepInput } from '../machines/filesystem.js';
import type { EffectContext } from '../src/engine/types.js';
import { replicate, replicationEngine } from './helpers/replication.js';
import { cutAfter, retryWhileBusy, ZfsLab, zfsUnavailable, type TestPool } from './helpers/zfs.js';
import { noise } from './helpers/noise.js';

setZfsLogger(createLogger({ level: process.env.FERRY_LOG_LEVEL ?? 'error', pretty: false }));
const unavailable = zfsUnavailable();
const isZfsFuse = !unavailable && !(await import('node:fs')).existsSync('/dev/zfs');

// Usage texts as printed by `zfs -?` (trimmed to the commands the driver reads).
const ZFS_FUSE_USAGE = `usage: zfs command args ...
where 'command' is one of the following:

\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>
\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...
\t    [-S property] ... [filesystem|volume|snapshot] ...
\tget [-rHp] [-d max] [-o "all" | field[,...]] [-s source[,...]]
\t    <"all" | property[,...]> [filesystem|volume|snapshot] ...
\tsend [-RDp] [-[iI] snapshot] <snapshot>
\treceive [-vnF] <filesystem|volume|snapshot>
\treceive [-vnF] -d <filesystem>
\thold [-r] <tag> <snapshot> ...
\trelease [-r] <tag> <snapshot> ...
`;
const OPENZFS_USAGE = `usage: zfs command args ...
where 'command' is one of the following:

\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...
\tsend [-DLPbcehnpsVvw] [-i|-I snapshot]
\t     [-R [-X dataset[,dataset]...]]     <snapshot>
\tsend [-DnVvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>
\tsend [-DnPpVvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>
\tsend [-nVvPe] -t <receive_resume_token>
\tsend [-PnVv] --saved filesystem
\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...
\t    <filesystem|volume|snapshot>
\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...
\t    [-d | -e] <filesystem>
\treceive -A <filesystem|volume>
\tbookmark <snapshot|bookmark> <newbookmark>
\thold [-r] <tag> <snapshot> ...
\trelease [-r] <tag> <snapshot> ...
\tload-key [-rn] [-L <keylocation>] <-a | filesystem|volume>
`;

describe('zfs driver: pure parts', () => {
  it('reads the features of zfs-fuse and OpenZFS from their usage text', () => {
    assert.deepEqual(parseUsage(ZFS_FUSE_USAGE), {
      multiSnapshot: false, dryRunSize: false, resumable: false,
      sendRaw: false, sendCompressed: false, sendLargeBlocks: false, sendProperties: true, receiveOverrides: false, encryption: false,
      holds: true, bookmarks: false, sendWritesStream: false,
    });
    assert.deepEqual(parseUsage(OPENZFS_USAGE), {
      multiSnapshot: true, dryRunSize: true, resumable: true,
      sendRaw: true, sendCompressed: true, sendLargeBlocks: true, sendProperties: true, receiveOverrides: true, encryption: true,
      holds: true, bookmarks: true, sendWritesStream: true,
    });
  });

  it('parses a stream header (plain and compound, either byte order) and refuses what is not a zfs stream', () => {
    const begin = (le: boolean, versioninfo: bigint, toguid: bigint, fromguid: bigint, name: string) => {
      const b = Buffer.alloc(312);
      const w64 = (v: bigint, at: number) => (le ? b.writeBigUInt64LE(v, at) : b.writeBigUInt64BE(v, at));
      w64(0x2f5bacbacn, 8);
      w64(versioninfo, 16);
      w64(toguid, 40);
      w64(fromguid, 48);
      b.write(name, 56);
      return b;
    };
    assert.deepEqual(parseStreamHeader(begin(true, 1n, 18446744073709551615n, 0n, 'p/a@s1')), {
      compound: false, toguid: '18446744073709551615', fromguid: '0', toname: 'p/a@s1', resuming: false,
    });
    assert.equal((parseStreamHeader(begin(false, 1n | (1n << 22n), 5n, 4n, 'p/a@s2')) as { resuming: boolean }).resuming, true);
    const end = Buffer.alloc(312);
    end.writeUInt32LE(5, 0);
    const compound = Buffer.concat([begin(true, 2n, 0n, 0n, 'p/a@s3'), end, begin(true, 1n, 7n, 6n, 'p/a@s2')]);
    assert.equal(parseStreamHeader(compound.subarray(0, 700)), 'need-more');
    assert.deepEqual(parseStreamHeader(compound), { compound: true, toguid: '7', fromguid: '6', toname: 'p/a@s2', resuming: false });
    assert.throws(() => parseStreamHeader(Buffer.alloc(400, 1)), (e: unknown) => e instanceof PermanentError && e.code === 'CORRUPT_STREAM');
    assert.equal(parseDryRunSize('full\tp/a@s1\t123\nsize\t4567\n'), 4567);
    assert.equal(parseDryRunSize(''), undefined);
  });

  it('turns zfs stderr (as zfs-fuse prints it) into typed errors', () => {
    const cases: [string, typeof PermanentError | typeof TemporaryError, string][] = [
      ['cannot receive incremental stream: destination p/b/a has been modified\nsince most recent snapshot\n', PermanentError, 'CONFLICT_DIVERGED'],
      ['cannot receive incremental stream: most recent snapshot of p/b/a does not\nmatch incremental source\n', PermanentError, 'CONFLICT_DIVERGED'],
      ["cannot receive new filesystem stream: destination 'p/b/a' exists\nmust specify -F to overwrite it\n", PermanentError, 'CONFLICT_EXISTS'],
      ["cannot create snapshot 'p/a@s4': dataset already exists\n", PermanentError, 'ALREADY_EXISTS'],
      ["cannot destroy 'p/b/k': dataset is busy\n", TemporaryError, 'BUSY'],
      ["cannot open 'p/nope': dataset does not exist\n", PermanentError, 'NOT_FOUND'],
      ['cannot receive new filesystem stream: invalid backup stream\n', TemporaryError, 'STREAM_INVALID'],
      ['cannot receive incremental stream: I/O error\n', TemporaryError, 'IO_ERROR'],
      ['connect: No such file or directory\nPlease make sure that the zfs-fuse daemon is running.\ninternal error: failed to initialize ZFS library\n', TemporaryError, 'ZFS_UNAVAILABLE'],
      ["cannot create 'p/x': permission denied\n", PermanentError, 'PERMISSION_DENIED'],
      ["invalid option 'n'\nusage:\n\tsend [-RDp] [-[iI] snapshot] <snapshot>\n", PermanentError, 'ZFS_UNSUPPORTED'],
      ['something new\n', TemporaryError, 'ZFS_FAILED'],
    ];
    for (const [stderr, cls, code] of cases) {
      const err = zfsError(['receive', '-u', 'p/b/a'], 1, stderr);
      assert.ok(err instanceof cls && err.code === code, `${JSON.stringify(stderr)} -> ${err.name} ${err.code}`);
      assert.match(err.message, /^zfs receive -u p\/b\/a failed \(exit 1\): /);
      assert.doesNotMatch(err.message, /usage:/);
    }
  });

  it('refuses invalid root datasets', () => {
    for (const bad of ['', 'p a', 'p;rm', '-p', 'p//a', 'p/', '/p', 'p/../x', 'p@s', 'p/$x']) {
      assert.throws(() => createZfsDriver(bad), InvalidArgumentError, bad);
    }
    assert.equal(openEndpoint('zfs:pool/data').kind, 'zfs');
  });
});

const MiB = 1024 * 1024;

function isCode(err: unknown, cls: typeof PermanentError | typeof TemporaryError, code: string): boolean {
  return err instanceof cls && (err as FerryError).code === code;
}

describe('zfs driver on real zfs', { skip: unavailable ?? false }, () => {
  let lab: ZfsLab;
  let p1: TestPool;
  let p2: TestPool;
  let seq = 0;

  before(async () => {
    lab = new ZfsLab();
    await lab.start();
    p1 = await lab.createPool();
    p2 = await lab.createPool();
  });
  after(async () => {
    await lab?.stop();
  });

  /** A sender root `p1/<tag>N` with filesystems a, a/b, c holding some files; a receiver root name on p2. */
  async function setup(tag: string, big = MiB): Promise<{ sroot: string; rroot: string; sender: ZfsDriver; receiver: ZfsDriver }> {
    const { sroot, rroot } = await lab.sampleTree(p1, p2, tag, big);
    seq++;
    return { sroot, rroot, sender: createZfsDriver(sroot), receiver: createZfsDriver(rroot) };
  }

  async function transfer(sender: StorageDriver, receiver: StorageDriver, fs: string, from: Version | null, to: Version, intermediates = false): Promise<Version> {
    const { stream } = await sender.send(fs, from, to, { intermediates });
    try {
      return await receiver.receive(fs, stream);
    } finally {
      stream.destroy();
    }
  }

  const byName = async (d: StorageDriver, fs: string) => (await d.listVersions(fs)).map((v) => v.name);

  it('capabilities match the zfs found (zfs-fuse: batch only)', () => {
    const caps = createZfsDriver('x/y').capabilities;
    assert.equal(caps.batch, true);
    assert.deepEqual({ resumable: caps.resumable, atomicSnapshots: caps.atomicSnapshots }, { resumable: zfsFeatures().resumable, atomicSnapshots: zfsFeatures().multiSnapshot });
    if (isZfsFuse) assert.deepEqual(caps, { batch: true, resumable: false, atomicSnapshots: false });
  });

  it('lists descendants of the root, snapshots several filesystems, versions carry guid and createtxg order', async () => {
    const { sroot, sender } = await setup('list');
    assert.deepEqual(await sender.listFilesystems(), ['a', 'a/b', 'c']);
    await assert.rejects(createZfsDriver(`${p1.name}/nope`).listFilesystems(), (e: unknown) => isCode(e, PermanentError, 'ROOT_NOT_FOUND') && (e as Error).message.includes(`${p1.name}/nope`));
    assert.deepEqual(await sender.listVersions('nope'), []);
    assert.deepEqual(await sender.listVersions('a'), []);

    const s1 = await sender.snapshot(['a', 'a/b', 'c'], 's1');
    const s2 = await sender.snapshot(['c', 'a'], 's2');
    const guids = await lab.guids(sroot);
    assert.deepEqual(s1.map((v) => [v.name, v.guid]), ['a', 'a/b', 'c'].map((fs) => ['s1', guids[`${sroot}/${fs}@s1`]]));
    assert.deepEqual(s2.map((v) => v.guid), [guids[`${sroot}/c@s2`], guids[`${sroot}/a@s2`]]);
    const versions = await sender.listVersions('a');
    assert.deepEqual(versions.map((v) => v.name), ['s1', 's2']);
    assert.ok(versions[0].createtxg < versions[1].createtxg);
    assert.match(versions[0].guid, /^\d+$/);
    assert.ok(Math.abs(Date.parse(versions[0].creation!) - Date.now()) < 10 * 60_000, versions[0].creation);
    assert.deepEqual(await sender.listVersions('a/b'), [s1[1]]);
    if (zfsFeatures().multiSnapshot) {
      // OpenZFS: one `zfs snapshot` call for all of them, so one transaction group, one instant
      assert.equal(new Set(s1.map((v) => v.createtxg)).size, 1, `one txg for s1: ${JSON.stringify(s1)}`);
      assert.equal(new Set(s2.map((v) => v.createtxg)).size, 1, `one txg for s2: ${JSON.stringify(s2)}`);
    }

    // a name taken on one filesystem: nothing is left on the others
    await lab.zfs(['snapshot', `${sroot}/a@taken`]);
    await assert.rejects(sender.snapshot(['c', 'a/b', 'a'], 'taken'), (e: unknown) => isCode(e, PermanentError, 'SNAPSHOT_EXISTS'));
    assert.deepEqual(await byName(sender, 'c'), ['s1', 's2']);
    assert.deepEqual(await byName(sender, 'a/b'), ['s1']);
    await assert.rejects(sender.snapshot(['missing'], 'x'), (e: unknown) => isCode(e, PermanentError, 'NOT_FOUND'));
  });

  it('full then incremental send -> receive with child datasets: same data, same guids; receiving again is a no-op', async () => {
    const { sroot, rroot, sender, receiver } = await setup('full');
    const [a1, b1] = await sender.snapshot(['a', 'a/b'], 's1');
    const { stream, sizeEstimate } = await sender.send('a', null, a1);
    if (!zfsFeatures().dryRunSize) assert.equal(sizeEstimate, undefined);
    else assert.ok((sizeEstimate ?? 0) > MiB);
    const got = await receiver.receive('a', stream);
    assert.deepEqual([got.name, got.guid], [a1.name, a1.guid], 'the received version is the sender version (createtxg is the receiver\'s own)');
    assert.deepEqual(await lab.listAll(rroot), [rroot, `${rroot}/a`, `${rroot}/a@s1`], 'the receiver root is created, nothing else');
    assert.equal(await lab.mountpoint(`${rroot}/a`).then(() => lab.zfs(['get', '-H', '-o', 'value', 'mounted', `${rroot}/a`])).then((s) => s.trim()), 'no', 'received with -u');
    assert.equal((await transfer(sender, receiver, 'a/b', null, b1)).guid, b1.guid);

    await lab.write(`${sroot}/a`, { 'one.txt': 'changed\n', 'two.txt': noise(100_000) });
    const [a2] = await sender.snapshot(['a'], 's2');
    const inc = await transfer(sender, receiver, 'a', a1, a2);
    assert.equal(inc.guid, a2.guid);
    assert.deepEqual((await receiver.listVersions('a')).map((v) => v.guid), [a1.guid, a2.guid]);
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s2`), await lab.snapshotFiles(`${sroot}/a@s2`));
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s1`), await lab.snapshotFiles(`${sroot}/a@s1`));
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a/b@s1`), await lab.snapshotFiles(`${sroot}/a/b@s1`));
    assert.ok(Object.keys(await lab.snapshotFiles(`${rroot}/a@s2`)).includes('two.txt'));

    // idempotent: the same version again changes nothing
    const before = await lab.listAll(rroot);
    assert.equal((await transfer(sender, receiver, 'a', a1, a2)).guid, a2.guid);
    assert.deepEqual(await lab.listAll(rroot), before);
  });

  it('batch send (-I) brings every intermediate snapshot; a cut halfway keeps the complete ones, nothing is rolled back', async () => {
    const { rroot, sender, receiver } = await setup('batch');
    const [v1] = await sender.snapshot(['a'], 's1');
    await transfer(sender, receiver, 'a', null, v1);
    for (const s of ['s2', 's3', 's4']) {
      await lab.write(`${sender.root}/a`, { [`${s}.txt`]: s, ...(s === 's3' ? { 'big3.bin': noise(4 * MiB) } : {}) });
      await sender.snapshot(['a'], s);
    }
    const all = await sender.listVersions('a');

    // cut after s2 arrived, inside s3: s2 arrived complete and stays; s3 left no trace
    const cut = await sender.send('a', v1, all[3], { intermediates: true });
    await assert.rejects(receiver.receive('a', cut.stream.pipe(cutAfter(2 * MiB, (t) => t.destroy(new Error('cut'))))), TemporaryError);
    assert.deepEqual(await lab.listAll(`${rroot}/a`), [`${rroot}/a`, `${rroot}/a@s1`, `${rroot}/a@s2`]);

    // the retried step continues from the newest snapshot the receiver has (as the step runner does);
    // zfs-fuse may still hold the dataset busy from the cut receive for a moment (a step retries BUSY)
    const got = await retryWhileBusy(() => transfer(sender, receiver, 'a', all[1], all[3], true));
    assert.equal(got.guid, all[3].guid);
    assert.deepEqual((await receiver.listVersions('a')).map((v) => [v.name, v.guid]), all.map((v) => [v.name, v.guid]));
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s3`), await lab.snapshotFiles(`${sender.root}/a@s3`));
  });

  it('a diverged receiver is a PermanentError and stays as it was; so is a full stream over an existing dataset', async () => {
    const { rroot, sender, receiver } = await setup('div');
    const [v1] = await sender.snapshot(['a'], 's1');
    await transfer(sender, receiver, 'a', null, v1);
    const [v2] = await sender.snapshot(['a'], 's2');
    const [v3] = await sender.snapshot(['a'], 's3');

    // the receiver took a snapshot of its own
    await lab.zfs(['snapshot', `${rroot}/a@local`]);
    let before = await lab.guids(rroot);
    await assert.rejects(transfer(sender, receiver, 'a', v1, v2), (e: unknown) => isCode(e, PermanentError, 'CONFLICT_DIVERGED') && /never rolls back/.test((e as Error).message));
    assert.deepEqual(await lab.guids(rroot), before);
    await lab.destroy(`${rroot}/a@local`);

    // the sender's path does not continue from the receiver's newest snapshot
    await transfer(sender, receiver, 'a', v1, v2);
    before = await lab.guids(rroot);
    const { stream } = await sender.send('a', v1, v3);
    await assert.rejects(receiver.receive('a', stream), (e: unknown) => isCode(e, PermanentError, 'CONFLICT_DIVERGED'));
    stream.destroy();
    assert.deepEqual(await lab.guids(rroot), before);

    // a full stream into a dataset that exists
    const other = await sender.snapshot(['c'], 's1');
    await lab.zfs(['create', `${rroot}/c`]);
    await assert.rejects(transfer(sender, receiver, 'c', null, other[0]), (e: unknown) => isCode(e, PermanentError, 'CONFLICT_EXISTS'));
    assert.deepEqual(await lab.listAll(`${rroot}/c`), [`${rroot}/c`]);

    // an incremental stream for a dataset the receiver does not have
    await assert.rejects(transfer(sender, createZfsDriver(`${p2.name}/elsewhere${seq}`), 'a', v2, v3), (e: unknown) => isCode(e, PermanentError, 'NOT_FOUND'));
    assert.deepEqual(await lab.listAll(`${p2.name}/elsewhere${seq}`), []);
  });

  it('a nested filesystem whose parent is not replicated yet is a TemporaryError; nothing is created', async () => {
    const { rroot, sender, receiver } = await setup('nest');
    const [, b1] = await sender.snapshot(['a', 'a/b'], 's1');
    // piped through a counter as the step runner does: the failed receive must not leave zfs send blocked
    const { stream } = await sender.send('a/b', null, b1);
    await assert.rejects(receiver.receive('a/b', stream.pipe(new PassThrough())), (e: unknown) => isCode(e, TemporaryError, 'PARENT_MISSING'));
    await new Promise((r) => setImmediate(r));
    assert.equal(stream.destroyed, true, 'the send stream (and its zfs send) is stopped');
    assert.deepEqual(await lab.listAll(rroot), []);
  });

  it('an interrupted receive (stream destroyed halfway, or aborted) leaves the receiver as it was; a retry then succeeds', async () => {
    const { rroot, sender, receiver } = await setup('intr', 6 * MiB);
    const [v1] = await sender.snapshot(['a'], 's1');
    await lab.zfs(['create', rroot]);

    // full receive, the stream fails after 2 MiB
    const full = await sender.send('a', null, v1);
    const broken = full.stream.pipe(cutAfter(2 * MiB, (t) => t.destroy(new Error('connection lost'))));
    await assert.rejects(receiver.receive('a', broken), (e: unknown) => e instanceof TemporaryError && /connection lost/.test((e as Error).message));
    full.stream.destroy();
    if (zfsFeatures().resumable) {
      // OpenZFS (receive -s): the partial dataset is kept for zfs send -t; a fresh stream drops it (receive -A)
      assert.deepEqual(await lab.listAll(rroot), [rroot, `${rroot}/a`], 'only the partial receive, no snapshot');
      assert.ok(await receiver.resumeToken('a'), 'the partial receive has a resume token');
    } else {
      assert.deepEqual(await lab.listAll(rroot), [rroot], 'no new dataset, no %recv leftover');
    }
    assert.equal((await transfer(sender, receiver, 'a', null, v1)).guid, v1.guid);
    assert.equal(await receiver.resumeToken('a'), null);

    // incremental receive, aborted after 2 MiB
    await lab.write(`${sender.root}/a`, { 'more.bin': noise(6 * MiB) });
    const [v2] = await sender.snapshot(['a'], 's2');
    const before = await lab.guids(rroot);
    const ac = new AbortController();
    const inc = await sender.send('a', v1, v2, { signal: ac.signal });
    inc.stream.on('error', () => undefined);
    const started = zfsCommandCount();
    await assert.rejects(receiver.receive('a', inc.stream.pipe(cutAfter(2 * MiB, () => ac.abort(new Error('step timed out')))), { signal: ac.signal }), (e: unknown) => isCode(e, TemporaryError, 'ABORTED'));
    assert.ok(zfsCommandCount() > started);
    assert.deepEqual(await lab.guids(rroot), before);
    assert.deepEqual(await lab.listAll(rroot), [rroot, `${rroot}/a`, `${rroot}/a@s1`]);
    // zfs-fuse's daemon winds down the interrupted receive a moment later: until then the dataset is
    // busy, a temporary error the filesystem machine retries after its backoff; do the same here
    assert.equal((await retryWhileBusy(() => transfer(sender, receiver, 'a', v1, v2))).guid, v2.guid);
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s2`), await lab.snapshotFiles(`${sender.root}/a@s2`));

    // an empty or foreign stream is refused before zfs receive runs
    await assert.rejects(receiver.receive('c', Readable.from([Buffer.alloc(1000, 7)])), (e: unknown) => isCode(e, PermanentError, 'CORRUPT_STREAM'));
    await assert.rejects(receiver.receive('c', Readable.from([])), (e: unknown) => isCode(e, PermanentError, 'EMPTY_STREAM'));
    assert.deepEqual(await lab.listAll(`${rroot}/c`), []);
  });

  it('send: unknown versions are refused, an abort ends the stream with a typed error', async () => {
    const { sender } = await setup('send', 8 * MiB);
    const [v1] = await sender.snapshot(['a'], 's1');
    const [v2] = await sender.snapshot(['a'], 's2');
    await assert.rejects(sender.send('a', null, { ...v1, guid: '123' }), (e: unknown) => isCode(e, PermanentError, 'SNAPSHOT_NOT_FOUND'));
    await assert.rejects(sender.send('a', v2, v1), (e: unknown) => isCode(e, PermanentError, 'NOT_NEWER'));
    const ac = new AbortController();
    const { stream } = await sender.send('a', null, v1, { signal: ac.signal });
    let bytes = 0;
    const failed = new Promise<unknown>((resolve) => stream.on('error', resolve));
    stream.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes > MiB) ac.abort();
    });
    const err = await failed;
    assert.ok(isCode(err, TemporaryError, 'ABORTED'), String(err));
  });

  it('destroySnapshot destroys that one snapshot, nothing else; cloned or held ones are refused and kept; incrementals go on', async () => {
    const { sroot, rroot, sender, receiver } = await setup('destroy');
    const [a1] = await sender.snapshot(['a', 'a/b', 'c'], 's1');
    const [a2] = await sender.snapshot(['a'], 's2');
    await transfer(sender, receiver, 'a', null, a1);
    await transfer(sender, receiver, 'a', a1, a2);

    // not the filesystem, not its child's snapshot of the same name, not the others (no -r)
    const before = await lab.listAll(sroot);
    await sender.destroySnapshot('a', 's1');
    assert.deepEqual(await lab.listAll(sroot), before.filter((n) => n !== `${sroot}/a@s1`));
    assert.deepEqual(await byName(sender, 'a'), ['s2']);
    await receiver.destroySnapshot('a', 's1');
    assert.deepEqual(await lab.listAll(`${rroot}/a`), [`${rroot}/a`, `${rroot}/a@s2`]);
    // the incremental path from the remaining common snapshot still applies
    await lab.write(`${sroot}/a`, { 'three.txt': 'three\n' });
    const [a3] = await sender.snapshot(['a'], 's3');
    assert.equal((await transfer(sender, receiver, 'a', a2, a3)).guid, a3.guid);
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s3`), await lab.snapshotFiles(`${sroot}/a@s3`));

    await assert.rejects(sender.destroySnapshot('a', 's1'), (e: unknown) => isCode(e, PermanentError, 'SNAPSHOT_NOT_FOUND') && (e as Error).message.includes('a@s1'));
    await assert.rejects(sender.destroySnapshot('nope', 's1'), (e: unknown) => isCode(e, PermanentError, 'SNAPSHOT_NOT_FOUND') && (e as Error).message.includes('nope@s1'));

    // a clone depends on it: refused with what zfs says, snapshot and clone kept (never -R)
    const clone = `${p1.name}/destroyclone${seq}`;
    await lab.zfs(['clone', '-o', 'mountpoint=none', `${sroot}/c@s1`, clone]);
    await assert.rejects(sender.destroySnapshot('c', 's1'), (e: unknown) => isCode(e, PermanentError, 'SNAPSHOT_HAS_CLONES') && (e as Error).message.includes(`${sroot}/c@s1`) && /dependent clones/.test((e as Error).message));
    assert.deepEqual(await byName(sender, 'c'), ['s1']);
    assert.deepEqual(await lab.listAll(clone), [clone]);
    await lab.destroy(clone);
    await sender.destroySnapshot('c', 's1');
    assert.deepEqual(await byName(sender, 'c'), []);

    // a user hold: refused (zfs says "busy", but no retry makes a hold go away), kept
    await lab.zfs(['hold', 'keep', `${sroot}/a/b@s1`]);
    await assert.rejects(sender.destroySnapshot('a/b', 's1'), (e: unknown) => isCode(e, PermanentError, 'SNAPSHOT_HELD') && /1 user hold/.test((e as Error).message));
    assert.deepEqual(await byName(sender, 'a/b'), ['s1']);
    await lab.zfs(['release', 'keep', `${sroot}/a/b@s1`]);
    await sender.destroySnapshot('a/b', 's1');
    assert.deepEqual(await lab.listAll(sroot), [sroot, `${sroot}/a`, `${sroot}/a/b`, `${sroot}/a@s2`, `${sroot}/a@s3`, `${sroot}/c`].sort());

    // zfs' snapshot lists and ranges are not names; the root's own snapshots are not reachable
    const count = zfsCommandCount();
    for (const name of ['s2,s3', 's2%s3', 's2@s3', '']) await assert.rejects(sender.destroySnapshot('a', name), (e: unknown) => isCode(e, InvalidArgumentError, 'INVALID_NAME'), name);
    await assert.rejects(sender.destroySnapshot('', 's2'), (e: unknown) => isCode(e, InvalidArgumentError, 'INVALID_NAME'));
    assert.equal(zfsCommandCount(), count);
    assert.deepEqual(await byName(sender, 'a'), ['s2', 's3']);
  });

  it('invalid names are refused with InvalidArgumentError before any zfs command runs', async () => {
    const d = createZfsDriver(`${p1.name}/names`);
    const v: Version = { name: 's1', guid: '1', createtxg: 1 };
    const badFs = ['', ' a', 'a b', 'a;b', 'a;rm -rf /', '..', '../a', 'a/../b', 'a/..', '-a', 'a/-b', 'a//b', '/a', 'a/', 'a@b', 'a$b', 'a\nb', 'a\0b', 'x'.repeat(300)];
    const badSnap = ['', 'x y', 'a/b', '-x', '..', 'a..b', 'a@b', 'a;b', 's\t1'];
    const count = zfsCommandCount();
    const refused = async (what: string, p: Promise<unknown>) => {
      await assert.rejects(p, (e: unknown) => e instanceof InvalidArgumentError && e.code === 'INVALID_NAME', what);
    };
    for (const fs of badFs) {
      const label = JSON.stringify(fs);
      await refused(`listVersions ${label}`, d.listVersions(fs));
      await refused(`snapshot ${label}`, d.snapshot(['ok', fs], 's1'));
      await refused(`send ${label}`, d.send(fs, null, v));
      await refused(`receive ${label}`, d.receive(fs, Readable.from([Buffer.alloc(10)])));
      await refused(`resumeToken ${label}`, d.resumeToken(fs));
      await refused(`destroySnapshot ${label}`, d.destroySnapshot(fs, 's1'));
    }
    for (const name of badSnap) {
      const label = JSON.stringify(name);
      await refused(`snapshot name ${label}`, d.snapshot(['ok'], name));
      await refused(`send to ${label}`, d.send('ok', null, { ...v, name }));
      await refused(`send from ${label}`, d.send('ok', { ...v, name }, v));
      await refused(`destroySnapshot name ${label}`, d.destroySnapshot('ok', name));
    }
    await assert.rejects(d.snapshot(['a', 'a'], 's1'), InvalidArgumentError);
    assert.equal(zfsCommandCount(), count, 'no zfs command ran');
    const e = await d.listVersions('a;b').catch((x: unknown) => x);
    assert.match((e as Error).message, /"a;b"/, 'the error names the bad value');
  });

  it('send options: flags this zfs lacks are refused naming the option; -p carries properties; receive -o/-x where zfs has them', async () => {
    const { sroot, rroot, sender, receiver } = await setup('opts');
    await lab.zfs(['set', 'ferry:tag=blue', `${sroot}/c`]);
    const [v] = await sender.snapshot(['c'], 's1');
    const f = zfsFeatures();
    const lacking = ([['compressed', 'sendCompressed', 'send.compressed'], ['largeBlocks', 'sendLargeBlocks', 'send.large_blocks'], ['raw', 'sendRaw', 'send.raw']] as const)
      .filter(([, feature]) => !f[feature]);
    if (isZfsFuse) assert.equal(lacking.length, 3, 'zfs-fuse has none of -c, -L, -w');
    for (const [flag, , field] of lacking) {
      await assert.rejects(sender.send('c', null, v, { flags: { [flag]: true } }),
        (e: unknown) => isCode(e, PermanentError, 'SEND_OPTION_UNSUPPORTED') && (e as FerryError).details.field === field && (e as Error).message.startsWith(field));
    }
    const estimate = await sender.estimateSend!('c', null, v, { flags: { properties: true } });
    if (f.dryRunSize) assert.ok(estimate! > 0, `zfs send -n -P -p: ${estimate}`);
    else assert.equal(estimate, undefined, 'zfs-fuse has no dry run: size unknown');
    const overrides = { receiveSet: ['readonly=on'], receiveExclude: ['ferry:tag'] };
    if (!f.receiveOverrides) {
      const { stream } = await sender.send('c', null, v, { flags: { properties: true } });
      await assert.rejects(receiver.receive('c', stream, { overrides }), (e: unknown) => isCode(e, PermanentError, 'SEND_OPTION_UNSUPPORTED'));
      assert.deepEqual(await lab.listAll(`${rroot}/c`), [], 'nothing received');
    }
    const { stream } = await sender.send('c', null, v, { flags: { properties: true } });
    await receiver.receive('c', stream, f.receiveOverrides ? { overrides } : {});
    const prop = async (name: string) => (await lab.zfs(['get', '-H', '-o', 'value', name, `${rroot}/c`])).trim();
    if (f.receiveOverrides) {
      assert.equal(await prop('ferry:tag'), '-', 'receive -x ferry:tag');
      assert.equal(await prop('readonly'), 'on', 'receive -o readonly=on');
    } else {
      assert.equal(await prop('ferry:tag'), 'blue', 'zfs send -p carried the property');
    }

    if (f.encryption) {
      // OpenZFS: a plain send of an encrypted dataset is refused; raw keeps the receiver encrypted
      const keyfile = `${lab.dir}/key`;
      (await import('node:fs')).writeFileSync(keyfile, 'ferry-test-passphrase\n');
      await lab.zfs(['create', '-o', 'encryption=on', '-o', 'keyformat=passphrase', '-o', `keylocation=file://${keyfile}`, `${sroot}/enc`]);
      const [e1] = await sender.snapshot(['enc'], 's1');
      await assert.rejects(sender.send('enc', null, e1), (e: unknown) => isCode(e, PermanentError, 'ENCRYPTED_SEND'));
      const raw = await sender.send('enc', null, e1, { flags: { raw: true } });
      await receiver.receive('enc', raw.stream);
      assert.notEqual((await lab.zfs(['get', '-H', '-o', 'value', 'encryption', `${rroot}/enc`])).trim(), 'off', 'the raw-sent receiver stays encrypted');
      const plainReceiver = createZfsDriver(`${p2.name}/plain${++seq}`);
      const plain = await sender.send('enc', null, e1, { flags: { allowDecryptedSend: true } });
      await plainReceiver.receive('enc', plain.stream);
      assert.equal((await lab.zfs(['get', '-H', '-o', 'value', 'encryption', `${plainReceiver.root}/enc`])).trim(), 'off', 'sent decrypted on purpose');
    }
  });

  it('a step into a new filesystem asks zfs about it once and about its parent once', async () => {
    const { rroot, sender, receiver } = await setup('probe');
    await lab.zfs(['create', rroot]);
    const [v] = await sender.snapshot(['c'], 's1');
    const input: ReplicateStepInput = { runId: 'r', sender: sender.endpoint, receiver: receiver.endpoint, filesystem: 'c', step: { from: null, to: v }, index: 0, total: 1 };
    const ctx = { machineId: 'm', childId: 'c', attempt: 1, signal: new AbortController().signal, log: createLogger({ level: 'silent' }), progress: () => {} } as unknown as EffectContext;
    const cap = captureLog('debug');
    setZfsLogger(cap.logger);
    try {
      await replicateStep(input, ctx, new FerryMetrics());
    } finally {
      setZfsLogger(createLogger({ level: process.env.FERRY_LOG_LEVEL ?? 'error', pretty: false }));
    }
    const cmds = cap.lines.filter((l) => l.msg === 'zfs command').map((l) => (l.cmd as string[]).slice(1));
    const firstReceive = cmds.findIndex((c) => c[0] === 'receive');
    assert.ok(firstReceive > 0, JSON.stringify(cmds));
    const before = cmds.slice(0, firstReceive);
    assert.deepEqual(before.filter((c) => c.includes(`${rroot}/c`)).map((c) => c[0]), ['get'], `one probe of the new dataset: ${JSON.stringify(before)}`);
    assert.deepEqual(before.filter((c) => c[c.length - 1] === rroot).map((c) => c[0]), ['list'], `one probe of its parent: ${JSON.stringify(before)}`);
    assert.deepEqual((await receiver.listVersions('c')).map((x) => x.guid), [v.guid]);
  });

  it('a step holds its versions while it runs and releases them; a cursor bookmark per receiver lets the sender prune the base (OpenZFS), else the base stays a protected snapshot', async () => {
    const { sroot, rroot, sender, receiver } = await setup('cursor', 2 * MiB);
    const f = zfsFeatures();
    if (isZfsFuse) assert.deepEqual({ holds: f.holds, bookmarks: f.bookmarks }, { holds: true, bookmarks: false }, 'zfs-fuse has holds, no bookmarks');
    // the hold count (zfs-fuse's `zfs holds` exits 255 without output; userrefs works on both)
    const holdsOf = (snapshot: string) => Number(execFileSync('zfs', ['get', '-H', '-p', '-o', 'value', 'userrefs', snapshot], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }).trim());
    const [v1] = await sender.snapshot(['c'], 'cur_1');
    const [v2] = await sender.snapshot(['c'], 'cur_2');
    const step = async (from: Version | null, to: Version, index: number, during: () => void = () => {}) => {
      const input: ReplicateStepInput = { runId: 'run-cursor', sender: sender.endpoint, receiver: receiver.endpoint, filesystem: 'c', step: { from, to }, index, total: index + 1 };
      let checked = false;
      const ctx = {
        machineId: 'm', childId: 'c', attempt: 1, signal: new AbortController().signal, log: createLogger({ level: 'silent' }),
        progress: () => { if (!checked) { checked = true; during(); } },
      } as unknown as EffectContext;
      await replicateStep(input, ctx, new FerryMetrics());
      assert.ok(checked, 'progress was reported');
      return stepHoldTag(input);
    };
    let heldDuring: number[] = [];
    const tag1 = await step(null, v1, 0, () => { heldDuring = [holdsOf(`${sroot}/c@cur_1`)]; });
    if (f.holds) assert.deepEqual(heldDuring, [1], 'the sender\'s snapshot is held while the step runs');
    const tag2 = await step(v1, v2, 1, () => { heldDuring = [holdsOf(`${sroot}/c@cur_1`), holdsOf(`${sroot}/c@cur_2`), holdsOf(`${rroot}/c@cur_1`)]; });
    if (f.holds) assert.deepEqual(heldDuring, [1, 1, 1], 'base and target on the sender, the base on the receiver');
    assert.notEqual(tag1, tag2, 'one tag per step');
    for (const snap of [`${sroot}/c@cur_1`, `${sroot}/c@cur_2`, `${rroot}/c@cur_1`, `${rroot}/c@cur_2`]) assert.equal(holdsOf(snap), 0, `released: ${snap}`);

    // a held snapshot is kept by pruning, with the driver's reason
    if (f.holds) {
      await lab.zfs(['hold', 'by-hand', `${sroot}/c@cur_1`]);
      const out = await destroyPlanned({ endpoint: sender.endpoint, filesystem: 'c', name: 'cur_1' } as DestroySnapshotInput) as { outcome: string; message?: string };
      assert.equal(out.outcome, 'refused');
      assert.match(out.message ?? '', /hold/);
      await lab.zfs(['release', 'by-hand', `${sroot}/c@cur_1`]);
    }

    const cursors = await sender.listBookmarks!('c');
    const pruneSender = () => planPrune({
      job: 'j', side: 'sender', endpoint: sender.endpoint, sender: sender.endpoint, receivers: [receiver.endpoint], rules: [{ type: 'regex', regex: '^none$' }], prefix: 'cur',
    }, Date.now());
    const plan = await pruneSender();
    if (!f.bookmarks) {
      assert.deepEqual(cursors, [], 'no bookmark where zfs has none');
      assert.deepEqual(plan.destroy.map((d) => d.name), ['cur_1']);
      assert.match(plan.keep.find((k) => k.name === 'cur_2')?.reasons.join() ?? '', /protected: newest common version with receiver/, 'the base stays a protected snapshot');
      return;
    }
    assert.deepEqual(cursors.map((b) => [b.name, b.guid]), [[`#${cursorName(receiver.endpoint)}`, v2.guid]], 'one cursor, at the version the receiver has');
    assert.deepEqual(plan.destroy.map((d) => d.name), ['cur_1', 'cur_2'], 'the cursor protects the pair: the snapshot itself may go');
    for (const d of plan.destroy) await sender.destroySnapshot('c', d.name);
    const receiverPlan = await planPrune({
      job: 'j', side: 'receiver', endpoint: receiver.endpoint, sender: sender.endpoint, receivers: [receiver.endpoint], rules: [{ type: 'regex', regex: '^none$' }], prefix: 'cur',
    }, Date.now());
    assert.deepEqual(receiverPlan.destroy.map((d) => d.name), ['cur_1'], 'the receiver keeps the base the sender\'s bookmark points at');

    await lab.write(`${sroot}/c`, { 'more.txt': 'more\n' });
    const [v3] = await sender.snapshot(['c'], 'cur_3');
    const { planReplication } = await import('../src/replication/planner.js');
    const next = await planReplication({ sender, receiver });
    const steps = next.filesystems.find((x) => x.name === 'c')!.steps;
    assert.deepEqual(steps.map((st) => [st.from?.name, st.to.name]), [[`#${cursorName(receiver.endpoint)}`, 'cur_3']], 'incremental from the bookmark, not a full resend');
    await step(steps[0].from, v3, 2);
    assert.deepEqual((await receiver.listVersions('c')).map((x) => x.name), ['cur_1', 'cur_2', 'cur_3']);
    assert.equal((await sender.listBookmarks!('c'))[0].guid, v3.guid, 'the cursor moved on');
  });

  describe('replication through the engine (zfs)', () => {
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

    const ep = (root: string) => `zfs:${root}`;

    it('local zfs -> zfs steps take the fast path (OS pipes); an aborted fast-path step leaves the receiver as it was, a retry succeeds', async () => {
      const { sroot, rroot, sender, receiver } = await setup('fast', 4 * MiB);
      await sender.snapshot(['a', 'a/b', 'c'], 's1');
      const n0 = localTransferCount();
      const r0 = relayCount();
      const full = await replicate(engine, { sender: ep(sroot), receiver: ep(rroot) });
      assert.equal(full.state, 'Completed', JSON.stringify(full));
      assert.equal(localTransferCount() - n0, 3, 'every step went through the local pipe');
      // OpenZFS's send counts itself (one OS pipe, no relay); zfs-fuse's daemon writes the pipe, so a relay counts
      assert.equal(relayCount() - r0, zfsFeatures().sendWritesStream ? 0 : 3, 'relays started');
      assert.ok(full.filesystems[0].bytes > 4 * MiB, `bytes counted: ${full.filesystems[0].bytes}`);
      const { stream } = await sender.send('c', null, (await sender.listVersions('c'))[0]);
      let streamBytes = 0;
      for await (const chunk of stream) streamBytes += (chunk as Buffer).length;
      assert.equal(full.filesystems.find((f) => f.name === 'c')!.bytes, streamBytes, 'the fast path counts exactly the stream bytes');

      await lab.write(`${sroot}/a`, { 'more.bin': noise(48 * MiB) });
      await sender.snapshot(['a'], 's2');
      const [v1, v2] = await sender.listVersions('a');
      const before = await lab.guids(rroot);
      const input = { sender: ep(sroot), receiver: ep(rroot), filesystem: 'a', step: { from: v1, to: v2 }, index: 0, total: 1 } as unknown as ReplicateStepInput;
      const ac = new AbortController();
      let progressed = 0;
      const ctx = {
        machineId: 'm', childId: 'c', attempt: 1, signal: ac.signal, log: createLogger({ level: 'silent' }),
        progress: () => { progressed++; },
      } as unknown as EffectContext;
      const n1 = localTransferCount();
      const watch = setInterval(() => { if (localTransferCount() > n1) ac.abort(); }, 2);
      try {
        await assert.rejects(replicateStep(input, ctx, new FerryMetrics()), (e: unknown) => isCode(e, TemporaryError, 'ABORTED'));
      } finally {
        clearInterval(watch);
      }
      assert.ok(progressed >= 1);
      assert.deepEqual(await lab.guids(rroot), before, 'the receiver is as before');
      const retry = await retryWhileBusy(() => replicateStep(input, { ...ctx, signal: new AbortController().signal }, new FerryMetrics()));
      assert.ok(retry.bytes > 48 * MiB, `bytes: ${retry.bytes}`);
      assert.deepEqual((await receiver.listVersions('a')).map((v) => v.guid), [v1.guid, v2.guid]);
      assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s2`), await lab.snapshotFiles(`${sroot}/a@s2`));
    });
  });
});
