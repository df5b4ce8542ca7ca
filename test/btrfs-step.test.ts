// A local btrfs -> btrfs step (the fast path, one shell running send | receive) lists each side once:
// the receiver under its lock, the sender meanwhile; the step runner does not list the receiver
// first, and counts the stream's exact length. A retried step whose first
// run finished is done from that listing, even once the sender's snapshot is gone.
// Needs root and btrfs; run under the btrfs lock: flock /work/briefs/btrfs.lock ...
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ReplicateStepInput } from '../machines/filesystem.js';
import type { EffectContext } from '../src/engine/types.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicateStep } from '../src/replication/step-runner.js';
import { createBtrfsDriver } from '../src/storage/btrfs/index.js';
import { btrfsCallCount } from '../src/storage/btrfs/run-btrfs.js';
import { localTransferCount } from '../src/storage/local-pipe.js';
import { createLogger } from '../src/util/logger.js';
import { btrfsGate, createSubvolume, mountBtrfsImage, sendLength, type BtrfsMount } from './helpers/btrfs.js';
import { localSendProtocol } from '../src/storage/btrfs/protocol.js';

const gate = btrfsGate();

describe('btrfs steps', { skip: gate.skip }, () => {
  if (gate.failure) {
    it('btrfs is available', () => assert.fail(gate.failure!));
    return;
  }
  let m: BtrfsMount;
  before(() => {
    m = mountBtrfsImage('step');
  });
  after(() => m?.cleanup());

  const ctx = { machineId: 'm', childId: 'c', attempt: 1, signal: new AbortController().signal, log: createLogger({ level: 'silent' }), progress: () => undefined } as unknown as EffectContext;

  it('a fast-path step lists each side once; a retried one is done without the sender\'s snapshot', async () => {
    const s = join(m.dir, 's');
    const r = join(m.dir, 'r');
    mkdirSync(s);
    createSubvolume(join(s, 'one'));
    writeFileSync(join(s, 'one', 'a.txt'), 'a\n');
    const sender = createBtrfsDriver(s);
    const [v1] = await sender.snapshot(['one'], 's1');
    const step = (from: typeof v1 | null, to: typeof v1) =>
      ({ sender: `btrfs:${s}`, receiver: `btrfs:${r}`, filesystem: 'one', step: { from, to }, index: 0, total: 1 }) as unknown as ReplicateStepInput;
    await replicateStep(step(null, v1), ctx, new FerryMetrics());
    writeFileSync(join(s, 'one', 'b.txt'), 'b\n');
    const [v2] = await sender.snapshot(['one'], 's2');

    const calls = btrfsCallCount();
    const transfers = localTransferCount();
    const incremental = await replicateStep(step(v1, v2), ctx, new FerryMetrics());
    assert.equal(localTransferCount() - transfers, 1, 'the fast path');
    // exactly the stream's length (the shell's count of what btrfs send wrote)
    const length = sendLength(s, 'one', 's1', ['s2'], await localSendProtocol());
    assert.ok(length > 0);
    assert.equal(incremental.bytes, length);
    // a step's listing is one command (list, without the creation times of list -s; the holding
    // subvolume's rootid is known from the snapshots' listing): the sender's, the receiver's under
    // its lock, then send and receive, and a listing that finds the received subvolume (the relay
    // is no btrfs command); the step runner lists nothing itself
    assert.equal(btrfsCallCount() - calls, 1 + 1 + 2 + 1, 'btrfs commands of one fast-path step');

    await sender.destroySnapshot('one', 's2');
    const retried = await replicateStep(step(v1, v2), ctx, new FerryMetrics());
    assert.equal(retried.bytes, 0, 'nothing sent again');
    assert.deepEqual((await createBtrfsDriver(r).listVersions('one')).map((v) => v.guid), [v1.guid, v2.guid]);
  });

  it('steps running at once share their endpoints\' listings', async () => {
    const s = join(m.dir, 'ms');
    const r = join(m.dir, 'mr');
    mkdirSync(s);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (const n of names) {
      createSubvolume(join(s, n));
      writeFileSync(join(s, n, 'x.txt'), `${n}\n`);
    }
    const versions = await createBtrfsDriver(s).snapshot(names, 's1');
    const calls = btrfsCallCount();
    const done = await Promise.all(
      names.map((n, i) =>
        replicateStep({ sender: `btrfs:${s}`, receiver: `btrfs:${r}`, filesystem: n, step: { from: null, to: versions[i] }, index: 0, total: 1 } as unknown as ReplicateStepInput, ctx, new FerryMetrics()),
      ),
    );
    assert.ok(done.every((d) => d.bytes > 0));
    const listings = btrfsCallCount() - calls - 2 * names.length;
    // alone, each step lists three times (sender, receiver under its lock, receiver after its receive);
    // beside one another, the receiver's listings are shared too (a step alone lists it in its own shell)
    assert.ok(listings < names.length * 3 / 2, `${listings} listings for ${names.length} steps at once`);
    const received = createBtrfsDriver(r);
    for (const [i, n] of names.entries()) assert.deepEqual((await received.listVersions(n)).map((v) => v.guid), [versions[i].guid]);
  });
});
