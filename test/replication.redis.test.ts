import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync, writeFileSync, readlinkSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import type { Engine } from '../src/engine/engine.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { startTestRedis } from './helpers/redis.js';
import { tree } from './helpers/files.js';
import { replicate, replicationEngine, tempDir } from './helpers/replication.js';

/** A sender root with filesystems and files; returns helpers to snapshot and to read trees. */
function makeSender(root: string, fss: string[]) {
  for (const fs of fss) {
    mkdirSync(join(root, fs, 'sub'), { recursive: true });
    writeFileSync(join(root, fs, 'a.txt'), `a of ${fs}\n`);
    writeFileSync(join(root, fs, 'sub', 'b.txt'), `b of ${fs}\n`.repeat(100));
  }
  return createDirDriver(root);
}

describe('replication runs through the engine (dir driver)', () => {
  let redis: EmbeddedRedis;
  let engine: Engine;
  before(async () => { redis = await startTestRedis(); engine = replicationEngine(redis.url); });
  after(async () => { await engine.close(); await redis.stop(); });

  it('full then incremental replication: the receiver equals the sender, the report counts steps and bytes', async () => {
    const d = tempDir('rep');
    try {
      const sender = makeSender(join(d.path, 's'), ['one', 'two']);
      await sender.snapshot(['one', 'two'], 's1');
      const opts = { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r` };
      const full = await replicate(engine, opts);
      assert.equal(full.state, 'Completed', JSON.stringify(full));
      assert.deepEqual(full.filesystems.map((f) => [f.name, f.state, f.stepsDone, f.stepsTotal]), [['one', 'Completed', 1, 1], ['two', 'Completed', 1, 1]]);
      assert.ok(full.filesystems.every((f) => f.bytes > 0));
      assert.deepEqual(tree(join(d.path, 'r', 'one')), tree(join(d.path, 's', 'one')));

      writeFileSync(join(d.path, 's', 'one', 'new.txt'), 'new\n');
      rmSync(join(d.path, 's', 'two', 'a.txt'));
      await sender.snapshot(['one', 'two'], 's2');
      await sender.snapshot(['one', 'two'], 's3');
      const inc = await replicate(engine, opts);
      assert.equal(inc.state, 'Completed');
      // one step per snapshot, from the newest common version
      assert.deepEqual(inc.filesystems.map((f) => f.stepsTotal), [2, 2]);
      for (const fs of ['one', 'two']) assert.deepEqual(tree(join(d.path, 'r', fs)), tree(join(d.path, 's', fs)));
      const receiver = createDirDriver(join(d.path, 'r'));
      assert.deepEqual((await receiver.listVersions('one')).map((v) => v.guid), (await sender.listVersions('one')).map((v) => v.guid));

      const again = await replicate(engine, opts);
      assert.equal(again.state, 'Completed');
      assert.deepEqual(again.filesystems.map((f) => f.stepsTotal), [0, 0], 'already up to date: nothing to send');
      const transitions = await engine.transitions.read('0');
      const runMachines = transitions.filter((t) => t.kind === 'replication').map((t) => t.to);
      assert.ok(runMachines.includes('Planning') && runMachines.includes('Working') && runMachines.includes('Completed'));
    } finally {
      d.remove();
    }
  });

  it('initial replication policies on an empty receiver: most_recent, all, fail', async () => {
    const d = tempDir('pol');
    try {
      const sender = makeSender(join(d.path, 's'), ['x']);
      for (const s of ['s1', 's2', 's3']) await sender.snapshot(['x'], s);
      const mr = await replicate(engine, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r1` });
      assert.equal(mr.filesystems[0].stepsTotal, 1);
      assert.deepEqual((await createDirDriver(join(d.path, 'r1')).listVersions('x')).map((v) => v.name), ['s3']);
      const all = await replicate(engine, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r2`, initial: 'all' });
      assert.equal(all.state, 'Completed');
      assert.deepEqual((await createDirDriver(join(d.path, 'r2')).listVersions('x')).map((v) => v.name), ['s1', 's2', 's3']);
      const fail = await replicate(engine, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r3`, initial: 'fail' });
      assert.equal(fail.state, 'PermanentError');
      assert.equal(fail.filesystems[0].state, 'PermanentError');
      assert.match(fail.filesystems[0].problem ?? '', /fail/);
      assert.deepEqual(await createDirDriver(join(d.path, 'r3')).listVersions('x'), []);
    } finally {
      d.remove();
    }
  });

  it('a diverged receiver ends in PermanentError and is left untouched; other filesystems complete', async () => {
    const d = tempDir('div');
    try {
      const sender = makeSender(join(d.path, 's'), ['ok', 'div']);
      await sender.snapshot(['ok', 'div'], 's1');
      await sender.snapshot(['ok', 'div'], 's2');
      const opts = { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r`, initial: 'all' as const };
      assert.equal((await replicate(engine, opts)).state, 'Completed');
      // the sender loses s2 and takes s3: the receiver's s2 is not on the sender's path any more
      rmSync(join(d.path, 's', '.ferry', 'snapshots', 'div', 's2'), { recursive: true });
      await sender.snapshot(['ok', 'div'], 's3');
      const receiverRoot = join(d.path, 'r');
      const before = { link: readlinkSync(join(receiverRoot, 'div')), tree: tree(join(receiverRoot, 'div')), versions: await createDirDriver(receiverRoot).listVersions('div') };
      const r = await replicate(engine, opts);
      assert.equal(r.state, 'PermanentError');
      const div = r.filesystems.find((f) => f.name === 'div')!;
      assert.equal(div.state, 'PermanentError');
      assert.match(div.problem ?? '', /s2/);
      assert.match(r.problem ?? '', /1 of 2 filesystems failed/);
      assert.equal(r.filesystems.find((f) => f.name === 'ok')!.state, 'Completed');
      assert.equal(readlinkSync(join(receiverRoot, 'div')), before.link);
      assert.deepEqual(tree(join(receiverRoot, 'div')), before.tree);
      assert.deepEqual(await createDirDriver(receiverRoot).listVersions('div'), before.versions);
    } finally {
      d.remove();
    }
  });

  it('no common version and a sender without snapshots are conflicts for that filesystem only', async () => {
    const d = tempDir('ncv');
    try {
      const a = makeSender(join(d.path, 'a'), ['fs']);
      await a.snapshot(['fs'], 's1');
      assert.equal((await replicate(engine, { sender: `dir:${d.path}/a`, receiver: `dir:${d.path}/r` })).state, 'Completed');
      const b = makeSender(join(d.path, 'b'), ['fs', 'empty']);
      await b.snapshot(['fs'], 's1');
      const r = await replicate(engine, { sender: `dir:${d.path}/b`, receiver: `dir:${d.path}/r` });
      assert.equal(r.state, 'PermanentError');
      assert.match(r.filesystems.find((f) => f.name === 'fs')!.problem ?? '', /common/);
      assert.match(r.filesystems.find((f) => f.name === 'empty')!.problem ?? '', /no snapshots/);
      assert.equal(lstatSync(join(d.path, 'r', 'fs')).isSymbolicLink(), true);
      assert.deepEqual((await createDirDriver(join(d.path, 'r')).listVersions('fs')).map((v) => v.guid), (await a.listVersions('fs')).map((v) => v.guid));
    } finally {
      d.remove();
    }
  });

  it('snapshot filters and a filesystem glob choose what is replicated', async () => {
    const d = tempDir('flt');
    try {
      const sender = makeSender(join(d.path, 's'), ['keep', 'skip']);
      for (const s of ['hourly-1', 'daily-1', 'hourly-2', 'daily-2']) await sender.snapshot(['keep', 'skip'], s);
      const r = await replicate(engine, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r`, initial: 'all', includeSnapshots: '^daily-', filesystems: 'ke*' });
      assert.equal(r.state, 'Completed', JSON.stringify(r));
      assert.deepEqual(r.filesystems.map((f) => f.name), ['keep']);
      const receiver = createDirDriver(join(d.path, 'r'));
      assert.deepEqual((await receiver.listVersions('keep')).map((v) => v.name), ['daily-1', 'daily-2']);
      assert.deepEqual(await receiver.listVersions('skip'), []);
    } finally {
      d.remove();
    }
  });

  it('a temporary failure retries with backoff while the other filesystems go on', async () => {
    const d = tempDir('tmp');
    try {
      const sender = makeSender(join(d.path, 's'), ['busy', 'free']);
      await sender.snapshot(['busy', 'free'], 's1');
      // another live process (the redis-server) holds the receiver's lock of "busy": receive fails with BUSY (temporary)
      mkdirSync(join(d.path, 'r', '.ferry', 'locks'), { recursive: true });
      const lock = join(d.path, 'r', '.ferry', 'locks', 'busy');
      writeFileSync(lock, `${redis.pid} test-holder`);
      // released once the other filesystem completed, however slow the machine (a minute at most: then the assertion says why)
      const started = Date.now();
      const since = (await engine.transitions.read('0')).at(-1)?.id ?? '0';
      let released = false;
      const release = setInterval(() => {
        void engine.transitions.read(since).then((log) => {
          if (released || !(Date.now() - started > 60_000 || log.some((t) => t.kind === 'filesystem' && t.to === 'Completed'))) return;
          released = true; // once: the lock taken after this is ferry's own
          rmSync(lock, { force: true });
        }, () => undefined);
      }, 100);
      const r = await replicate(engine, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r`, concurrency: 1 }).finally(() => clearInterval(release));
      assert.equal(r.state, 'Completed', JSON.stringify(r));
      const log = (await engine.transitions.read('0')).filter((t) => t.kind === 'filesystem');
      const busyId = log.find((t) => t.to === 'WorkingWait')?.machineId;
      assert.ok(busyId, 'the busy filesystem waited for a retry');
      const freeDone = log.find((t) => t.machineId !== busyId && t.to === 'Completed' && t.machineId.startsWith(busyId!.split('.')[0]));
      const busyDone = log.find((t) => t.machineId === busyId && t.to === 'Completed');
      assert.ok(freeDone && busyDone && freeDone.at <= busyDone.at, 'the free filesystem completed while the busy one waited');
      assert.ok(statSync(join(d.path, 'r', 'busy', 'a.txt')).isFile());
    } finally {
      d.remove();
    }
  });
  it('the run machine commits once per filesystem (its end), whatever the number of filesystems; each filesystem machine twice', async () => {
    const d = tempDir('rep-commits');
    const commits = new Map<string, number>();
    const drains = new Map<string, number>();
    const counting = replicationEngine(redis.url, {
      trace: {
        committed: (c) => commits.set(c.machineId, (commits.get(c.machineId) ?? 0) + 1),
        drainJob: (id) => drains.set(id, (drains.get(id) ?? 0) + 1),
      },
    });
    try {
      const names = Array.from({ length: 6 }, (_, i) => `fs${i}`);
      const sender = makeSender(join(d.path, 's'), names);
      await sender.snapshot(names, 's1');
      // one at a time: nothing a child reports can share a commit of the run with another's
      const report = await replicate(counting, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r`, concurrency: 1 });
      assert.equal(report.state, 'Completed');
      await counting.settled();
      const run = report.id;
      // created, planned (spawns fs-0), then one commit per filesystem's end (which spawns the next);
      // a filesystem's first state (Working) is not reported: the run spawned it so
      assert.equal(commits.get(run), 2 + names.length, 'commits of the run');
      assert.equal(drains.get(run), 1 + names.length, 'drain jobs of the run');
      for (let i = 0; i < names.length; i++) {
        assert.equal(commits.get(`${run}.fs-${i}`), 2, `fs-${i}: created, then its step's result`);
        assert.equal(drains.get(`${run}.fs-${i}`), 1, `fs-${i}: one drain job`);
      }
    } finally {
      await counting.close();
      d.remove();
    }
  });
});
