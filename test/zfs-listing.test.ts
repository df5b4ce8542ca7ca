// zfs planning lists each endpoint once (one `zfs get -r`), not once per filesystem and side: the
// commands a plan runs do not grow with the filesystems, nor with snapshots elsewhere on the pool.
// Needs zfs (zfs-fuse or kernel); run under the zfs lock: flock /work/briefs/zfs.lock ...
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReplicateStepInput } from '../machines/filesystem.js';
import type { EffectContext } from '../src/engine/types.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { planReplication } from '../src/replication/planner.js';
import { replicateStep } from '../src/replication/step-runner.js';
import { localTransferCount } from '../src/storage/local-pipe.js';
import { createLogger } from '../src/util/logger.js';
import { list } from '../src/storage/snapshots.js';
import { datasetProperties } from '../src/storage/zfs/datasets.js';
import { createZfsDriver, zfsCommandCount } from '../src/storage/zfs/index.js';
import { ZfsLab, zfsUnavailable, type TestPool } from './helpers/zfs.js';

const unavailable = zfsUnavailable();

describe('zfs listing: the properties read', () => {
  it('asks for encryption only for a send (where zfs has it), the resume token wherever zfs has it', () => {
    const openzfs = { resumable: true, encryption: true };
    assert.equal(datasetProperties(openzfs), 'guid,createtxg,creation,receive_resume_token', 'a listing or a receive');
    assert.equal(datasetProperties(openzfs, { encryption: true }), 'guid,createtxg,creation,receive_resume_token,encryption', 'a send');
    assert.equal(datasetProperties({ resumable: false, encryption: false }, { encryption: true }), 'guid,createtxg,creation', 'zfs-fuse');
  });
});

describe('zfs listing per endpoint', { skip: unavailable ?? false }, () => {
  let lab: ZfsLab;
  let p1: TestPool;
  let p2: TestPool;

  before(async () => {
    ({ lab, p1, p2 } = await ZfsLab.twoPools());
  });
  after(async () => {
    await lab?.stop();
  });

  /** `count` filesystems under `root`, each with `snaps` snapshots */
  async function filesystems(root: string, count: number, snaps: number): Promise<void> {
    await lab.zfs(['create', '-p', root]);
    for (let i = 0; i < count; i++) await lab.zfs(['create', `${root}/fs${i}`]);
    for (let s = 0; s < snaps; s++) await lab.zfs(['snapshot', '-r', `${root}@s${s}`]);
  }

  /** zfs commands of one plan from `sroot` to `rroot` */
  async function planCommands(sroot: string, rroot: string): Promise<{ commands: number; steps: number }> {
    const before = zfsCommandCount();
    const plan = await planReplication({ sender: createZfsDriver(sroot), receiver: createZfsDriver(rroot), initial: 'all' });
    return { commands: zfsCommandCount() - before, steps: plan.filesystems.reduce((n, f) => n + f.steps.length, 0) };
  }

  it('plans any number of filesystems with the same commands, and the same versions as listVersions', async () => {
    await filesystems(`${p1.name}/one`, 1, 2);
    await filesystems(`${p1.name}/many`, 6, 2);
    // the feature probe (`zfs -?`, once per process, when a plan first reads a driver's capabilities) is no listing
    assert.ok(createZfsDriver(`${p1.name}/one`).capabilities);
    const one = await planCommands(`${p1.name}/one`, `${p2.name}/one`);
    const many = await planCommands(`${p1.name}/many`, `${p2.name}/many`);
    assert.deepEqual([one.steps, many.steps], [2, 12]);
    assert.equal(many.commands, one.commands, `6 filesystems: ${many.commands} zfs commands, 1: ${one.commands}`);

    const sender = createZfsDriver(`${p1.name}/many`);
    const all = await sender.listAllVersions!();
    for (const fs of await sender.listFilesystems()) assert.deepEqual(all.get(fs), await sender.listVersions(fs), fs);
    assert.deepEqual([...(await createZfsDriver(`${p2.name}/absent`).listAllVersions!())], []);
  });

  it('does not grow with snapshots of unrelated datasets on the same pools', async () => {
    await filesystems(`${p1.name}/quiet`, 3, 2);
    const quiet = await planCommands(`${p1.name}/quiet`, `${p2.name}/quiet`);
    await filesystems(`${p1.name}/unrelated`, 2, 20);
    await filesystems(`${p2.name}/unrelated`, 2, 20);
    const crowded = await planCommands(`${p1.name}/quiet`, `${p2.name}/quiet`);
    assert.equal(crowded.commands, quiet.commands);
  });

  it('a fast-path step plans the send while it probes the receiver; a retried one is done without the sender\'s snapshot', async () => {
    await filesystems(`${p1.name}/step`, 1, 0);
    await lab.write(`${p1.name}/step/fs0`, { 'a.txt': 'a\n' });
    const sender = createZfsDriver(`${p1.name}/step`);
    const [v1] = await sender.snapshot(['fs0'], 's1');
    await lab.write(`${p1.name}/step/fs0`, { 'b.txt': 'b\n' });
    const [v2] = await sender.snapshot(['fs0'], 's2');
    const ctx = { machineId: 'm', childId: 'c', attempt: 1, signal: new AbortController().signal, log: createLogger({ level: 'silent' }), progress: () => undefined } as unknown as EffectContext;
    const step = (from: typeof v1 | null, to: typeof v1) =>
      ({ sender: `zfs:${p1.name}/step`, receiver: `zfs:${p2.name}/step`, filesystem: 'fs0', step: { from, to }, index: 0, total: 1 }) as unknown as ReplicateStepInput;
    await lab.zfs(['create', '-p', `${p2.name}/step`]);
    const transfers = localTransferCount();
    assert.ok((await replicateStep(step(null, v1), ctx, new FerryMetrics())).bytes > 0);
    assert.ok((await replicateStep(step(v1, v2), ctx, new FerryMetrics())).bytes > 0);
    assert.equal(localTransferCount() - transfers, 2, 'both through the local pipe');
    await lab.zfs(['destroy', `${p1.name}/step/fs0@s2`]);
    assert.equal((await replicateStep(step(v1, v2), ctx, new FerryMetrics())).bytes, 0, 'nothing sent again');
    assert.deepEqual((await createZfsDriver(`${p2.name}/step`).listVersions('fs0')).map((v) => v.guid), [v1.guid, v2.guid]);
  });

  it('ferry list reads the endpoint once', async () => {
    await filesystems(`${p1.name}/listed`, 4, 3);
    const before = zfsCommandCount();
    const listed = await list(`zfs:${p1.name}/listed`);
    assert.equal(zfsCommandCount() - before, 2); // the filesystems, then every snapshot
    assert.deepEqual(listed.map((l) => [l.filesystem, l.versions.map((v) => v.name)]), ['fs0', 'fs1', 'fs2', 'fs3'].map((fs) => [fs, ['s0', 's1', 's2']]));
  });
});
