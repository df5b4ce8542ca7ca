import { join } from 'node:path';
import type { Scenario } from '../scenario.js';
import { ChaosEnv, scaledBytes, type ScenarioContext } from '../env.js';
import { diffDigests, digestTree, makeTree, mutateTree } from '../trees.js';
import { ZfsLab, zfsUnavailable } from '../../test/helpers/zfs.js';
import { btrfsUnavailable, createSubvolume, mountBtrfsImage, type BtrfsMount } from '../../test/helpers/btrfs.js';
import { killWorkersWhileRunning } from './dir-runs.js';


/** One storage driver's sender and receiver for the kill runs. */
interface DriverLab {
  sender: string;
  receiver: string;
  /** the mounted, writable tree of a sender filesystem */
  data(fs: string): Promise<string>;
  /** null when the receiver holds `fs@snap` with the sender's files, else what differs */
  compare(fs: string, snap: string): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * Random worker SIGKILLs during a full and an incremental run on zfs and on btrfs, where they are
 * present (zfs-fuse or kernel zfs; btrfs on loop-mounted images, root): like worker-kill, shorter.
 * Completed runs are compared file by file (zfs: through a clone of each snapshot; btrfs: the
 * received read-only snapshot against the sent one, modes and links included).
 */
export const driverKill: Scenario = {
  name: 'driver-kill',
  title: 'random worker SIGKILLs during full and incremental zfs and btrfs runs',
  share: 0.12,
  async run(ctx) {
    const half = ctx.deadline - (ctx.deadline - Date.now()) / 2;
    for (const [driver, open] of [['zfs', openZfs], ['btrfs', openBtrfs]] as const) {
      let why: string | null;
      try {
        why = driver === 'zfs' ? zfsUnavailable() : btrfsUnavailable();
      } catch (err) {
        why = (err as Error).message;
      }
      if (why) {
        ctx.figures.add('scenariosSkipped', 1, `driver-kill ${driver}: ${why}`);
        ctx.log(`${driver} skipped: ${why}`);
        continue;
      }
      await killRuns({ ...ctx, deadline: driver === 'zfs' ? half : ctx.deadline }, driver, await open());
    }
  },
};

async function killRuns(ctx: ScenarioContext, driver: string, lab: DriverLab): Promise<void> {
  try {
    await ChaosEnv.use(ctx, async (env) => {
      const filesystems = ['fs0', 'fs1'];
      for (const fs of filesystems) await makeTree(await lab.data(fs), ctx.rng, { files: 16, bytes: scaledBytes(ctx, 96) });
      const workers = [await env.startWorker('worker-a'), await env.startWorker('worker-b')];
      await env.createJob(driver, lab.sender, lab.receiver);
      for (const [i, snap] of ['s1', 's2'].entries()) {
        if (i > 0) for (const fs of filesystems) await mutateTree(await lab.data(fs), ctx.rng);
        const r = await env.ferry(['snapshot', lab.sender, '--name', snap, '--json']);
        if (r.code !== 0) throw new Error(`ferry snapshot ${lab.sender} failed (${r.code}): ${r.stderr}`);
        const runId = await env.runJob(driver);
        ctx.figures.add('runsStarted');
        const kills = await killWorkersWhileRunning(env, runId, workers, { minMs: 50, maxMs: 800, maxKills: 4 });
        const state = await env.waitFinal(runId);
        ctx.log(`${driver} ${i ? 'incremental' : 'full'} run: ${kills} worker kills, ended ${state ?? 'NOT FINAL'}`);
        await env.account(runId, state, `driver-kill ${driver} ${snap}`, filesystems, (fs) => lab.compare(fs, snap));
      }
    });
  } finally {
    await lab.close();
  }
}

async function openZfs(): Promise<DriverLab> {
  const lab = new ZfsLab();
  await lab.start();
  try {
    const send = await lab.createPool(512);
    const recv = await lab.createPool(512);
    await lab.zfs(['create', `${send.name}/src`]);
    for (const fs of ['fs0', 'fs1']) await lab.zfs(['create', `${send.name}/src/${fs}`]);
    const same = async (a: string, b: string) => {
      const [x, y] = [await lab.snapshotFiles(a), await lab.snapshotFiles(b)];
      const d = diffDigests(new Map(Object.entries(x)), new Map(Object.entries(y)));
      return d.length ? d.join('; ') : null;
    };
    return {
      sender: `zfs:${send.name}/src`,
      receiver: `zfs:${recv.name}/dst`,
      data: (fs) => lab.mountpoint(`${send.name}/src/${fs}`),
      compare: async (fs, snap) => {
        const want = `${send.name}/src/${fs}@${snap}`;
        const got = `${recv.name}/dst/${fs}@${snap}`;
        if (!(await lab.listAll(`${recv.name}/dst/${fs}`)).includes(got)) return `${got} is missing`;
        return same(want, got);
      },
      close: () => lab.stop(),
    };
  } catch (err) {
    await lab.stop();
    throw err;
  }
}

async function openBtrfs(): Promise<DriverLab> {
  const mounts: BtrfsMount[] = [];
  try {
    const send = mountBtrfsImage('chaos-send', 320);
    mounts.push(send);
    const recv = mountBtrfsImage('chaos-recv', 320);
    mounts.push(recv);
    for (const fs of ['fs0', 'fs1']) createSubvolume(join(send.dir, fs));
    return {
      sender: `btrfs:${send.dir}`,
      receiver: `btrfs:${recv.dir}`,
      data: async (fs) => join(send.dir, fs),
      compare: async (fs, snap) => {
        const at = (root: string) => join(root, '.ferry', 'snapshots', fs, snap);
        try {
          const d = diffDigests(await digestTree(at(send.dir)), await digestTree(at(recv.dir)));
          return d.length ? d.join('; ') : null;
        } catch (err) {
          return (err as Error).message;
        }
      },
      close: async () => {
        for (const m of mounts) m.cleanup();
      },
    };
  } catch (err) {
    for (const m of mounts) m.cleanup();
    throw err;
  }
}
