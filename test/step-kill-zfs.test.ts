import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createZfsDriver, zfsFeatures } from '../src/storage/zfs/index.js';
import { assertRunCompleted, DATA_MIB, MiB, runKilledHalfway, zfsGate } from './helpers/step-kill.js';
import { ZfsLab, type TestPool } from './helpers/zfs.js';
import { writeNoiseFile } from './helpers/noise.js';

/**
 * A zfs step killed halfway (worker SIGKILL; see test/helpers/step-kill.ts). On zfs-fuse the killed
 * receive leaves nothing and the retried step sends the whole stream again; on OpenZFS (run in the
 * OpenZFS VM by test/openzfs-vm.test.ts) it leaves a resumable partial receive and the retried step
 * sends only the rest (zfs send -t).
 */

const zfs = zfsGate();

describe('a zfs step killed halfway (worker SIGKILL) ends with the receiver consistent and the run Completed', { skip: zfs.skip }, () => {
  if (zfs.failure) {
    it('zfs is available', () => assert.fail(zfs.failure!));
    return;
  }
  let lab: ZfsLab | undefined;
  let sendPool: TestPool;
  let recvPool: TestPool;

  before(async () => {
    lab = new ZfsLab();
    await lab.start();
    // 1.5 GiB each: room for the data, a partial receive and the retried one
    sendPool = await lab.createPool(1536);
    recvPool = await lab.createPool(1536);
  });
  after(async () => {
    await lab?.stop();
  });

  // OpenZFS keeps what a killed `receive -s` got; zfs-fuse cannot and the receive leaves nothing
  const resumable = zfsFeatures().resumable;
  const title = resumable
    ? 'zfs (OpenZFS): the killed full receive is kept resumable; the retried step sends only the rest and brings the sender\'s version and data'
    : 'zfs: the killed full receive leaves nothing; the retried step brings the sender\'s version and data';

  it(title, { timeout: 900_000 }, async (t) => {
    const l = lab!;
    const sroot = `${sendPool.name}/src`;
    const rroot = `${recvPool.name}/dst`;
    const started = Date.now();
    await l.zfs(['create', sroot]);
    await l.zfs(['create', `${sroot}/fs`]);
    const mp = await l.mountpoint(`${sroot}/fs`);
    mkdirSync(join(mp, 'sub'));
    writeFileSync(join(mp, 'sub', 'small.txt'), 'small\n'.repeat(1000));
    await writeNoiseFile(join(mp, 'big.bin'), DATA_MIB);
    await l.zfs(['snapshot', `${sroot}/fs@s1`]);
    const sent = await l.guids(sroot);
    t.diagnostic(`sender prepared in ${Date.now() - started} ms`);

    const receiver = createZfsDriver(rroot);
    const r = await runKilledHalfway(t, `zfs:${sroot}`, `zfs:${rroot}`, async () => (await l.listAll(rroot)).includes(`${rroot}/fs@s1`), async () => {
      t.diagnostic(`receiver right after the kill: ${JSON.stringify(await l.listAll(recvPool.name))}`);
      if (resumable) {
        // the receive ends (its input closed) a moment after the worker died; then the token is there
        let token: string | null = null;
        for (let i = 0; i < 100 && token === null; i++) {
          token = await receiver.resumeToken('fs');
          if (token === null) await new Promise((res) => setTimeout(res, 100));
        }
        assert.ok(token, 'the killed receive -s left a receive_resume_token on the receiver');
      }
    }, resumable ? 96 * MiB : undefined);
    assertRunCompleted(t, r, { resumed: resumable });
    assert.equal(await receiver.resumeToken('fs'), null, 'no partial receive is left');

    // exactly the sender's version, nothing else: no partial dataset, no verification clone
    assert.deepEqual(await l.listAll(recvPool.name), [recvPool.name, rroot, `${rroot}/fs`, `${rroot}/fs@s1`].sort());
    assert.deepEqual(await l.guids(rroot), { [`${rroot}/fs@s1`]: sent[`${sroot}/fs@s1`] });
    const verifyStarted = Date.now();
    const received = await l.snapshotFiles(`${rroot}/fs@s1`);
    assert.deepEqual(received, await l.snapshotFiles(`${sroot}/fs@s1`));
    assert.deepEqual(Object.keys(received).sort(), ['big.bin', 'sub/small.txt']);
    t.diagnostic(`data verified in ${Date.now() - verifyStarted} ms; whole test ${Date.now() - started} ms`);
  });
});
