import type { Scenario } from '../scenario.js';
import { ChaosEnv, dirCompare, scaledBytes } from '../env.js';
import { sleep, writtenBytes, type FerryProcess } from '../processes.js';
import { newestSnap, prepareDirPair } from './dir-runs.js';

const MiB = 1024 * 1024;
/** kills of the same step: one more than the engine's maxStalledCount (5) */
const KILLS = 6;
/** the worker holds the step once it has written this much since it started (8 MiB, less for small data) */
const streamingBytes = (data: number) => Math.min(8 * MiB, Math.floor(data / 10));

/**
 * Repeated kills of the same step (issue 11, case 1): one filesystem of 150 MiB, one
 * `ferry worker --concurrency 1` at a time; the worker is SIGKILLed each time it has written
 * 8 MiB of the step (so it holds the step), six times, then a last worker is left alone. The run
 * must still reach a final state.
 */
export const repeatedKill: Scenario = {
  name: 'repeated-kill',
  title: 'the worker holding the same step SIGKILLed six times',
  share: 0.15,
  async run(ctx) {
    await ChaosEnv.use(ctx, async (env) => {
      const data = scaledBytes(ctx, 150);
      const pair = await prepareDirPair(env, 'rk', 1, { files: 3, bytes: data });
      let worker: FerryProcess = await env.startWorker('worker-1', ['--concurrency', '1']);
      const runId = await env.runJob(pair.job);
      ctx.figures.add('runsStarted');
      let kills = 0;
      while (kills < KILLS) {
        const base = writtenBytes(worker.pid) ?? 0;
        const deadline = Date.now() + 60_000;
        let streaming = false;
        while (Date.now() < deadline) {
          await env.poll();
          if (env.finalState(runId)) break;
          if ((writtenBytes(worker.pid) ?? 0) - base >= streamingBytes(data)) {
            streaming = true;
            break;
          }
          await sleep(20);
        }
        if (!streaming) break; // the run ended (or the step never streamed): nothing left to kill
        worker.kill('SIGKILL');
        await worker.exited;
        kills++;
        ctx.figures.add('repeatedKills');
        worker = await env.startWorker(`worker-${kills + 1}`, ['--concurrency', '1']);
      }
      const state = await env.waitFinal(runId);
      ctx.log(`${kills} kills of the step's worker; the run ended ${state ?? 'NOT FINAL'}`);
      await env.account(runId, state, `repeated-kill (${kills} kills)`, pair.filesystems, dirCompare(pair.sender, pair.receiver, newestSnap(pair)));
    });
  },
};
