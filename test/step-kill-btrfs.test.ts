import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBtrfsDriver } from '../src/storage/btrfs/index.js';
import { btrfsGate, createSubvolume, mountBtrfsImage, sh, subvolumeFields, type BtrfsMount } from './helpers/btrfs.js';
import { assertRunCompleted, DATA_MIB, hashTree, runKilledHalfway } from './helpers/step-kill.js';
import { lockIsFree } from './helpers/files.js';
import { writeNoiseFile } from './helpers/noise.js';

/** A btrfs step killed halfway (worker SIGKILL; see test/helpers/step-kill.ts). */

const btrfs = btrfsGate();

describe('a btrfs step killed halfway (worker SIGKILL) ends with the receiver consistent and the run Completed', { skip: btrfs.skip }, () => {
  if (btrfs.failure) {
    it('btrfs is available', () => assert.fail(btrfs.failure!));
    return;
  }
  let a: BtrfsMount | undefined;
  let b: BtrfsMount | undefined;
  before(() => {
    a = mountBtrfsImage('killa', 1536);
    b = mountBtrfsImage('killb', 1536);
  });
  after(() => {
    b?.cleanup();
    a?.cleanup();
  });

  it('btrfs: the killed receive\'s partial subvolume is removed; the retried step brings the sender\'s version and data', { timeout: 180_000 }, async (t) => {
    const s = join(a!.dir, 'src');
    const rroot = join(b!.dir, 'dst'); // created by the first receive
    const started = Date.now();
    mkdirSync(s);
    createSubvolume(join(s, 'fs'));
    mkdirSync(join(s, 'fs', 'sub'));
    writeFileSync(join(s, 'fs', 'sub', 'small.txt'), 'small\n'.repeat(1000));
    await writeNoiseFile(join(s, 'fs', 'big.bin'), DATA_MIB);
    const sender = createBtrfsDriver(s);
    const [v1] = await sender.snapshot(['fs'], 's1');
    t.diagnostic(`sender prepared in ${Date.now() - started} ms`);
    const receiver = createBtrfsDriver(rroot);

    const snap = join(rroot, '.ferry', 'snapshots', 'fs', 's1');
    const r = await runKilledHalfway(t, `btrfs:${s}`, `btrfs:${rroot}`, async () => (await receiver.listVersions('fs')).some((v) => v.guid === v1.guid), async () => {
      // the killed receive left its subvolume behind, writable and without Received UUID: the retry must remove it
      const partial = subvolumeFields(snap);
      t.diagnostic(`receiver right after the kill: ${snap} ${JSON.stringify(partial)}`);
      assert.deepEqual([partial.readonly, partial.receivedUuid], [false, '-'], 'the killed receive left a partial subvolume');
    });
    assertRunCompleted(t, r);

    // exactly the sender's version
    assert.deepEqual((await receiver.listVersions('fs')).map((v) => [v.name, v.guid]), [[v1.name, v1.guid]]);
    const fields = subvolumeFields(snap);
    assert.equal(fields.receivedUuid, v1.guid);
    assert.equal(fields.readonly, true);
    // every subvolume of the receiver's filesystem is a complete receive: no partial one (without
    // Received UUID) left by the killed receive
    const subvolumes = sh('btrfs', ['subvolume', 'list', '-R', b!.dir]).split('\n').filter(Boolean)
      .map((line) => ({ received: /received_uuid (\S+)/.exec(line)?.[1], path: /\bpath (.*)$/.exec(line)?.[1] }));
    assert.deepEqual(subvolumes, [{ received: v1.guid, path: 'dst/.ferry/snapshots/fs/s1' }]);
    assert.ok(await lockIsFree(rroot, 'fs'), 'the lock of the killed worker was taken over and released');

    const verifyStarted = Date.now();
    const received = await hashTree(snap);
    assert.deepEqual(received, await hashTree(join(s, '.ferry', 'snapshots', 'fs', 's1')));
    assert.deepEqual(Object.keys(received).sort(), ['big.bin', 'sub/small.txt']);
    t.diagnostic(`data verified in ${Date.now() - verifyStarted} ms; whole test ${Date.now() - started} ms`);
  });
});
