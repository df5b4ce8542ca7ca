import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../src/engine/engine.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { createLogger } from '../src/util/logger.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { setZfsLogger, createZfsDriver } from '../src/storage/zfs/index.js';
import { startTestRedis } from './helpers/redis.js';
import { replicate, replicationEngine } from './helpers/replication.js';
import { assertRetentionSeries, jobsEngine } from './helpers/pruning.js';
import { ZfsLab, zfsUnavailable, type TestPool } from './helpers/zfs.js';

/**
 * Replication runs and pruning through the engine on zfs: full then incremental, initial policies,
 * conflicts, retention after each firing. They run on the host's zfs-fuse only; test/zfs.test.ts
 * (the driver suite, with holds and bookmark cursors, and the fast path's abort through the engine)
 * runs on both, the second time in the OpenZFS VM, where each engine run costs a minute of
 * emulated CPU.
 */

setZfsLogger(createLogger({ level: process.env.FERRY_LOG_LEVEL ?? 'error', pretty: false }));
const unavailable = zfsUnavailable();
const MiB = 1024 * 1024;

describe('replication through the engine (zfs)', { skip: unavailable ?? false }, () => {
  let lab: ZfsLab;
  let p1: TestPool;
  let p2: TestPool;
  let redis: EmbeddedRedis;
  let engine: Engine;

  before(async () => {
    ({ lab, p1, p2 } = await ZfsLab.twoPools());
    redis = await startTestRedis();
    engine = replicationEngine(redis.url);
  });
  after(async () => {
    await engine?.close();
    await redis?.stop();
    await lab?.stop();
  });

  async function setup(tag: string) {
    const { sroot, rroot } = await lab.sampleTree(p1, p2, tag);
    return { sroot, rroot, sender: createZfsDriver(sroot), receiver: createZfsDriver(rroot) };
  }
  const byName = async (d: StorageDriver, fs: string) => (await d.listVersions(fs)).map((v) => v.name);
  const ep = (root: string) => `zfs:${root}`;

  it('full then incremental replication with child datasets; then nothing to do', async () => {
    const { sroot, rroot, sender, receiver } = await setup('e2e');
    await sender.snapshot(['a', 'a/b', 'c'], 's1');
    const opts = { sender: ep(sroot), receiver: ep(rroot) };
    const full = await replicate(engine, opts);
    assert.equal(full.state, 'Completed', JSON.stringify(full));
    assert.deepEqual(full.filesystems.map((f) => [f.name, f.state, f.stepsDone]), [['a', 'Completed', 1], ['a/b', 'Completed', 1], ['c', 'Completed', 1]]);
    assert.ok(full.filesystems[0].bytes > MiB);

    await lab.write(`${sroot}/a`, { 'new.txt': 'new\n' });
    await lab.write(`${sroot}/a/b`, { 'b.txt': 'changed\n' });
    await sender.snapshot(['a', 'a/b', 'c'], 's2');
    await sender.snapshot(['a', 'a/b', 'c'], 's3');
    const inc = await replicate(engine, opts);
    assert.equal(inc.state, 'Completed', JSON.stringify(inc));
    for (const fs of ['a', 'a/b', 'c']) {
      assert.deepEqual((await receiver.listVersions(fs)).map((v) => v.guid), (await sender.listVersions(fs)).map((v) => v.guid), fs);
      assert.deepEqual(await lab.snapshotFiles(`${rroot}/${fs}@s3`), await lab.snapshotFiles(`${sroot}/${fs}@s3`), fs);
    }
    const again = await replicate(engine, opts);
    assert.equal(again.state, 'Completed');
    assert.deepEqual(again.filesystems.map((f) => f.stepsTotal), [0, 0, 0]);
  });

  it('initial policies on an empty receiver: most_recent, all, fail', async () => {
    const { sroot, rroot } = await setup('pol');
    const sender = createZfsDriver(sroot);
    for (const s of ['s1', 's2', 's3']) await sender.snapshot(['c'], s);
    const only = { filesystems: 'c' };
    const mr = await replicate(engine, { sender: ep(sroot), receiver: ep(`${rroot}mr`), ...only });
    assert.equal(mr.state, 'Completed', JSON.stringify(mr));
    assert.deepEqual(await byName(createZfsDriver(`${rroot}mr`), 'c'), ['s3']);
    const all = await replicate(engine, { sender: ep(sroot), receiver: ep(`${rroot}all`), initial: 'all', ...only });
    assert.equal(all.state, 'Completed', JSON.stringify(all));
    assert.deepEqual(await byName(createZfsDriver(`${rroot}all`), 'c'), ['s1', 's2', 's3']);
    const fail = await replicate(engine, { sender: ep(sroot), receiver: ep(`${rroot}fail`), initial: 'fail', ...only });
    assert.equal(fail.state, 'PermanentError');
    assert.match(fail.filesystems[0].problem ?? '', /fail/);
    assert.deepEqual(await lab.listAll(`${rroot}fail`), []);
  });

  it('a diverged receiver ends in PermanentError, untouched, while the others complete', async () => {
    const { sroot, rroot, sender } = await setup('div');
    await sender.snapshot(['a', 'c'], 's1');
    const opts = { sender: ep(sroot), receiver: ep(rroot), filesystems: '?' }; // a and c, not a/b
    const base = await replicate(engine, opts);
    assert.equal(base.state, 'Completed', JSON.stringify(base));
    await lab.zfs(['snapshot', `${rroot}/c@local`]);
    await sender.snapshot(['a', 'c'], 's2');
    const before = await lab.guids(rroot);
    const r = await replicate(engine, opts);
    assert.equal(r.state, 'PermanentError');
    assert.equal(r.filesystems.find((f) => f.name === 'a')!.state, 'Completed');
    const c = r.filesystems.find((f) => f.name === 'c')!;
    assert.equal(c.state, 'PermanentError');
    assert.match(c.problem ?? '', /diverged|local/);
    const after = await lab.guids(rroot);
    for (const [name, guid] of Object.entries(before)) if (name.startsWith(`${rroot}/c`)) assert.equal(after[name], guid);
    assert.deepEqual(Object.keys(after).filter((n) => n.startsWith(`${rroot}/c@`)).sort(), [`${rroot}/c@local`, `${rroot}/c@s1`]);
  });

  it('no common version and a sender without snapshots are conflicts for that filesystem only', async () => {
    const one = await setup('ncv');
    await one.sender.snapshot(['c'], 's1');
    assert.equal((await replicate(engine, { sender: ep(one.sroot), receiver: ep(one.rroot), filesystems: 'c' })).state, 'Completed');
    const two = await setup('ncv');
    await two.sender.snapshot(['c'], 's1');
    const before = await lab.guids(one.rroot);
    const r = await replicate(engine, { sender: ep(two.sroot), receiver: ep(one.rroot) });
    assert.equal(r.state, 'PermanentError');
    assert.match(r.filesystems.find((f) => f.name === 'c')!.problem ?? '', /common/);
    assert.match(r.filesystems.find((f) => f.name === 'a')!.problem ?? '', /no snapshots/);
    assert.deepEqual(await lab.guids(one.rroot), before);
  });

  it('pruning after each firing: each side holds what its rules keep, the incremental base survives, a dry run destroys nothing', async () => {
    const { sroot, rroot, sender } = await setup('prune');
    const rroot2 = `${rroot}x`;
    const receivers = [createZfsDriver(rroot), createZfsDriver(rroot2)];
    const { engine: jobEngine, jobs } = jobsEngine(redis.url);
    try {
      await assertRetentionSeries(jobEngine, jobs, {
        job: 'zfs-prune', sender, receivers, firings: 5, senderKeep: 2, receiverKeep: 3, foreign: { filesystem: 'a', name: 'manual_1' },
        beforeFiring: (i) => lab.write(`${sroot}/a`, { [`f${i}.txt`]: `${i}\n` }),
      });
    } finally {
      await jobEngine.close();
    }
    // only snapshots went: every dataset is still there, never destroyed recursively
    assert.deepEqual((await lab.listAll(sroot)).filter((n) => !n.includes('@')), [sroot, `${sroot}/a`, `${sroot}/a/b`, `${sroot}/c`].sort());
    assert.deepEqual((await lab.listAll(rroot)).filter((n) => !n.includes('@')), [rroot, `${rroot}/a`, `${rroot}/a/b`, `${rroot}/c`].sort());
  });
});
