import type { Scenario } from '../scenario.js';
import { ChaosEnv, dirCompare, scaledBytes } from '../env.js';
import { changeAndSnapshot, killWorkersWhileRunning, newestSnap, prepareDirPair } from './dir-runs.js';


/**
 * Random worker SIGKILLs during full and incremental dir runs: two `ferry worker`s (short locks),
 * one job of three filesystems; while a run is in flight a random worker is killed every 0.05-1 s
 * and replaced. Then every run must end, and a Completed one must show the sender's trees.
 */
export const workerKill: Scenario = {
  name: 'worker-kill',
  title: 'random worker SIGKILLs during full and incremental dir runs',
  share: 0.25,
  async run(ctx) {
    await ChaosEnv.use(ctx, async (env) => {
      const pair = await prepareDirPair(env, 'wk', 3, { files: 40, bytes: scaledBytes(ctx, 64) });
      const workers = [await env.startWorker('worker-a'), await env.startWorker('worker-b')];
      let round = 0;
      do {
        if (round > 0) await changeAndSnapshot(env, pair);
        const what = `${round === 0 ? 'full' : 'incremental'} run ${round + 1}`;
        const t0 = Date.now();
        const runId = await env.runJob(pair.job);
        ctx.figures.add('runsStarted');
        const kills = await killWorkersWhileRunning(env, runId, workers, { minMs: 50, maxMs: 1000, maxKills: 6 });
        const state = await env.waitFinal(runId);
        ctx.log(`${what}: ${kills} worker kills, ended ${state ?? 'NOT FINAL'} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        await env.account(runId, state, `worker-kill ${what}`, pair.filesystems, dirCompare(pair.sender, pair.receiver, newestSnap(pair)));
        round++;
      } while (Date.now() < ctx.deadline);
    });
  },
};
