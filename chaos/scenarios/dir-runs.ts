import { join } from 'node:path';
import type { ChaosEnv } from '../env.js';
import { sleep, type FerryProcess } from '../processes.js';
import { makeTree, mutateTree, type TreeShape } from '../trees.js';

/** Shared by the scenarios that replicate dir endpoints: data, snapshots, runs, and a kill loop. */

export interface DirPair {
  sender: string;
  receiver: string;
  filesystems: string[];
  job: string;
  /** snapshots taken so far */
  snaps: number;
}

/** A sender with `count` filesystems of `shape` each, its first snapshot `s1`, and a job to `receiver`. */
export async function prepareDirPair(env: ChaosEnv, name: string, count: number, shape: TreeShape): Promise<DirPair> {
  const pair: DirPair = {
    sender: join(env.dir, `${name}-send`), receiver: join(env.dir, `${name}-recv`),
    filesystems: Array.from({ length: count }, (_, i) => `fs${i}`), job: name, snaps: 0,
  };
  for (const fs of pair.filesystems) await makeTree(join(pair.sender, fs), env.ctx.rng, shape);
  await snapshot(env, pair);
  await env.createJob(name, `dir:${pair.sender}`, `dir:${pair.receiver}`);
  return pair;
}

/** Changes every sender filesystem and takes the next snapshot. */
export async function changeAndSnapshot(env: ChaosEnv, pair: DirPair): Promise<void> {
  for (const fs of pair.filesystems) await mutateTree(join(pair.sender, fs), env.ctx.rng);
  await snapshot(env, pair);
}

async function snapshot(env: ChaosEnv, pair: DirPair): Promise<void> {
  const name = `s${pair.snaps + 1}`;
  const r = await env.ferry(['snapshot', `dir:${pair.sender}`, '--name', name, '--json']);
  if (r.code !== 0) throw new Error(`ferry snapshot failed (${r.code}): ${r.stderr}`);
  pair.snaps++;
}

export function newestSnap(pair: DirPair): string {
  return `s${pair.snaps}`;
}

/**
 * SIGKILLs a random worker every `minMs`..`maxMs` while the run is not final and the scenario's
 * deadline has not passed, each time starting a fresh worker in its place. Resolves with the
 * number of kills; `workers` holds the live ones afterwards.
 */
export async function killWorkersWhileRunning(env: ChaosEnv, runId: string, workers: FerryProcess[], opts: { minMs: number; maxMs: number; maxKills: number; extra?: string[] }): Promise<number> {
  const { rng } = env.ctx;
  let kills = 0;
  let n = 0;
  while (kills < opts.maxKills && Date.now() < env.ctx.deadline) {
    const wait = rng.int(opts.minMs, opts.maxMs);
    const until = Date.now() + wait;
    while (Date.now() < until) {
      await env.poll();
      if (env.finalState(runId)) return kills;
      await sleep(100);
    }
    const i = rng.int(0, workers.length - 1);
    workers[i].kill('SIGKILL');
    await workers[i].exited;
    kills++;
    env.ctx.figures.add('workerKills');
    workers[i] = await env.startWorker(`worker-r${++n}`, opts.extra);
  }
  return kills;
}
