import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../scenario.js';
import { ChaosEnv, compareReceived } from '../env.js';
import { makeTree } from '../trees.js';
import { sleep } from '../processes.js';

const MiB = 1024 * 1024;
const TMPFS_SIZE = '8m';

/**
 * A receiver on a small tmpfs (8 MiB): two filesystems replicated with `ferry replicate` (full run,
 * fits), then one of them grows by 20 MiB and is replicated again. The second run must end (exit 1,
 * not a crash or a hang); the filesystem that did not fit must still show its previous version
 * exactly (a failed receive never leaves a torn visible tree), and the other must be complete.
 */
export const smallTmpfs: Scenario = {
  name: 'small-tmpfs',
  title: 'a receiver on an 8 MiB tmpfs: the run that does not fit fails cleanly',
  share: 0.05,
  async run(ctx) {
    await ChaosEnv.use(ctx, async (env) => {
      const mnt = join(env.dir, 'tmpfs');
      mkdirSync(mnt);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'chaos-tmpfs', mnt], { encoding: 'utf8' });
      if (m.status !== 0) {
        ctx.figures.add('scenariosSkipped', 1, `small-tmpfs: cannot mount a tmpfs (needs root): ${m.stderr.trim()}`);
        ctx.log(`skipped: mount failed: ${m.stderr.trim()}`);
        return;
      }
      try {
        const sender = join(env.dir, 'tmpfs-send');
        for (const fs of ['fsA', 'fsB']) await makeTree(join(sender, fs), ctx.rng, { files: 5, bytes: MiB });
        await snapshot(env, sender, 's1');
        const first = await replicate(env, sender, mnt);
        await settle(env, first, 'small-tmpfs full run (fits)', sender, mnt, 's1');

        await makeTree(join(sender, 'fsB', 'grown'), ctx.rng, { files: 4, bytes: 20 * MiB });
        await snapshot(env, sender, 's2');
        const second = await replicate(env, sender, mnt);
        await settle(env, second, 'small-tmpfs incremental run (does not fit)', sender, mnt, 's2');
        // whatever the run says: fsB shows s1 or s2 exactly, never a mix
        const asNew = await compareReceived(join(sender, '.ferry/snapshots/fsB/s2/data'), join(mnt, 'fsB'));
        const asOld = await compareReceived(join(sender, '.ferry/snapshots/fsB/s1/data'), join(mnt, 'fsB'));
        if (asNew !== null && asOld !== null) ctx.figures.add('tornReceivers', 1, `fsB on the full tmpfs is neither s1 (${asOld}) nor s2 (${asNew})`);
        ctx.log(`the run that does not fit ended ${second.state ?? 'NOT FINAL'}; fsB shows ${asNew === null ? 's2' : asOld === null ? 's1' : 'a torn tree'}`);
      } finally {
        // unmounted before the env removes its temp dir
        await env.procs.stopAll();
        for (let i = 0; i < 20 && spawnSync('umount', [mnt]).status !== 0; i++) await sleep(250);
        spawnSync('umount', ['-l', mnt]);
      }
    });
  },
};

async function snapshot(env: ChaosEnv, sender: string, name: string): Promise<void> {
  const r = await env.ferry(['snapshot', `dir:${sender}`, '--name', name, '--json']);
  if (r.code !== 0) throw new Error(`ferry snapshot failed (${r.code}): ${r.stderr}`);
}

interface Replicated {
  state: string | null;
  report: { id: string; state: string; filesystems: Array<{ name: string; state: string; problem: string | null }> } | null;
  code: number | null;
}

async function replicate(env: ChaosEnv, sender: string, receiver: string): Promise<Replicated> {
  env.ctx.figures.add('tmpfsRuns');
  env.ctx.figures.add('runsStarted');
  const r = await env.ferry(['replicate', `dir:${sender}`, `dir:${receiver}`, '--initial', 'all', '--json',
    '--retry-initial-ms', '200', '--retry-max-ms', '1000', '--max-attempts', '3'], 180_000);
  let report: Replicated['report'] = null;
  try {
    report = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    // no report: counted below
  }
  return { state: r.timedOut ? null : report?.state ?? null, report, code: r.code };
}

async function settle(env: ChaosEnv, r: Replicated, what: string, sender: string, receiver: string, snap: string): Promise<void> {
  const f = env.ctx.figures;
  if (r.state === null) {
    f.add('runsLostOrStuck', 1, `${what}: \`ferry replicate\` gave no final report (exit ${r.code})`);
    return;
  }
  if (r.state !== 'Completed') f.add('runsFailed', 1, `${what}: ended ${r.state}: ${JSON.stringify(r.report?.filesystems.map((x) => [x.name, x.state, x.problem]))}`);
  else f.add('runsCompleted');
  // every filesystem the report calls Completed must show the sender's snapshot
  for (const fs of r.report?.filesystems ?? []) {
    if (fs.state !== 'Completed') continue;
    f.add('treesCompared');
    const problem = await compareReceived(join(sender, '.ferry/snapshots', fs.name, snap, 'data'), join(receiver, fs.name));
    if (problem) f.add('completedButDifferent', 1, `${what}: ${fs.name} Completed but ${problem}`);
  }
}
