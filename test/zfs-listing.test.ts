// zfs planning lists each endpoint once (one `zfs get -r`), not once per filesystem and side: the
// commands a plan runs do not grow with the filesystems, nor with snapshots elsewhere on the pool.
// Needs zfs (zfs-fuse or kernel); run under the zfs lock: flock /work/briefs/zfs.lock ...
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { planReplication } from '../src/replication/planner.js';
import { list } from '../src/storage/snapshots.js';
import { createZfsDriver, zfsCommandCount } from '../src/storage/zfs/index.js';
import { ZfsLab, zfsUnavailable, type TestPool } from './helpers/zfs.js';

const unavailable = zfsUnavailable();

describe('zfs listing per endpoint', { skip: unavailable ?? false }, () => {
  let lab: ZfsLab;
  let p1: TestPool;
  let p2: TestPool;

  before(async () => {
    lab = new ZfsLab();
    await lab.start();
    p1 = await lab.createPool();
    p2 = await lab.createPool();
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

  it('ferry list reads the endpoint once', async () => {
    await filesystems(`${p1.name}/listed`, 4, 3);
    const before = zfsCommandCount();
    const listed = await list(`zfs:${p1.name}/listed`);
    assert.equal(zfsCommandCount() - before, 2); // the filesystems, then every snapshot
    assert.deepEqual(listed.map((l) => [l.filesystem, l.versions.map((v) => v.name)]), ['fs0', 'fs1', 'fs2', 'fs3'].map((fs) => [fs, ['s0', 's1', 's2']]));
  });
});
