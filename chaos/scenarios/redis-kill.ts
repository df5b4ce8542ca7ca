import type { Scenario } from '../scenario.js';
import { ChaosEnv, dirCompare, scaledBytes } from '../env.js';
import { sleep } from '../processes.js';
import { changeAndSnapshot, newestSnap, prepareDirPair } from './dir-runs.js';


/**
 * Redis SIGKILL and restart with AOF: during full and incremental dir runs (two workers and a
 * `ferry serve`), redis-server is SIGKILLed 0.1-1.2 s into the run, left down 1-5 s and started again
 * on the same port and data (AOF, fsync every second), up to twice per run. Every run must end,
 * Completed ones with the sender's trees; no process may die of it. At the end Redis is killed
 * once more and every ferry process is stopped with SIGTERM while it is down: each must exit.
 */
export const redisKill: Scenario = {
  name: 'redis-kill',
  title: 'redis-server SIGKILLed and restarted from its AOF during runs',
  share: 0.15,
  async run(ctx) {
    const { rng } = ctx;
    await ChaosEnv.use(ctx, async (env) => {
      const pair = await prepareDirPair(env, 'rd', 2, { files: 20, bytes: scaledBytes(ctx, 64) });
      await env.startWorkersAndServe();
      let round = 0;
      do {
        if (round > 0) await changeAndSnapshot(env, pair);
        const what = `${round === 0 ? 'full' : 'incremental'} run ${round + 1}`;
        const runId = await env.runJob(pair.job);
        ctx.figures.add('runsStarted');
        let kills = 0;
        for (let k = rng.int(1, 2); k > 0 && Date.now() < ctx.deadline; k--) {
          await sleep(rng.int(100, 1200));
          await env.poll();
          if (env.finalState(runId)) break;
          env.killRedis();
          ctx.figures.add('redisKills');
          kills++;
          await sleep(rng.int(1000, 5000));
          await env.restartRedis();
        }
        const state = await env.waitFinal(runId);
        ctx.log(`${what}: ${kills} redis kills, ended ${state ?? 'NOT FINAL'}`);
        await env.account(runId, state, `redis-kill ${what}`, pair.filesystems, dirCompare(pair.sender, pair.receiver, newestSnap(pair)));
        round++;
      } while (Date.now() < ctx.deadline);
      await env.countDuplicateTransitions();
      // shutdown whatever Redis does: SIGTERM while it is down
      env.killRedis();
      ctx.figures.add('redisKills');
      await env.procs.stopAll();
      await env.restartRedis();
    });
  },
};
