import { spawn, spawnSync } from 'node:child_process';
import type { Scenario } from '../scenario.js';
import { ChaosEnv, dirCompare } from '../env.js';
import { sleep, type FerryProcess } from '../processes.js';
import { changeAndSnapshot, newestSnap, prepareDirPair } from './dir-runs.js';

/** The syscalls of the dir receive where a crash leaves a different state on disk. */
const FAMILIES: Record<string, string[]> = {
  rename: ['rename', 'renameat', 'renameat2'],
  symlink: ['symlink', 'symlinkat'],
  link: ['link', 'linkat'],
  fsync: ['fsync', 'fdatasync'],
  remove: ['unlink', 'unlinkat', 'rmdir'],
};
/** the families that publish a received version: every one of their calls is a kill point */
const PUBLISHING = ['rename', 'symlink'];
/** a bound, should a run ever make many more publishing calls than the handful it makes now */
const MAX_PUBLISHING_POINTS = 20;

/**
 * Kills at every commit point of the dir receive, by strace fault injection: a worker (its libuv
 * pool at one thread, so the calls come in a stable order) is traced with
 * `strace -f -e inject=<family>:signal=SIGKILL:when=N` and dies at the N-th call of that family
 * during a run of two steps (full s1, incremental s2). A second worker finishes the run. Every run
 * must end, and a Completed one must show the sender's newest snapshot. rename and symlink (what
 * publishes a version) are killed at every N until a run makes fewer calls (whatever the time
 * budget); link, fsync and unlink/rmdir at N = 1, then 2, 3, ... in turn while the time lasts.
 */
export const commitPoints: Scenario = {
  name: 'commit-points',
  title: 'a worker killed at the N-th rename/symlink/link/fsync/unlink of the dir receive (strace)',
  share: 0.25,
  async run(ctx) {
    if (spawnSync('strace', ['-V']).status !== 0) {
      ctx.figures.add('scenariosSkipped', 1, 'commit-points: strace is not installed (apt-get install strace)');
      ctx.log('skipped: strace is not installed');
      return;
    }
    await ChaosEnv.use(ctx, async (env) => {
      // one sender with s1 and s2; each kill point replicates both (a full and an incremental step) into a fresh receiver
      const pair = await prepareDirPair(env, 'cp', 1, { files: 6, bytes: 256 * 1024 });
      await changeAndSnapshot(env, pair);
      // rename and symlink (the calls that publish a received version) at every N until a run makes
      // fewer such calls; then the others at N = 1, 2, ... in turn, while the time lasts
      const queue = PUBLISHING.map((f) => [f, 1] as [string, number]);
      const others = Object.keys(FAMILIES).filter((f) => !PUBLISHING.includes(f)).map((f) => [f, 1] as [string, number]);
      let point = 0;
      let worker: FerryProcess | null = null;
      // the publishing points are all taken whatever the time (a run makes about 15 such calls), and
      // the first call of each other family; later ones while the time lasts
      while (queue.length || (others.length && (others[0][1] === 1 || Date.now() < ctx.deadline))) {
        const [family, n] = (queue.length ? queue : others).shift()!;
        point++;
        const receiver = `${pair.receiver}-${point}`;
        await env.createJob(`cp${point}`, `dir:${pair.sender}`, `dir:${receiver}`);
        worker ??= await env.startWorker(`worker-${point}`, ['--concurrency', '1'], { UV_THREADPOOL_SIZE: '1' });
        const traced = worker;
        const strace = await traceAndKill(traced, FAMILIES[family], n);
        const runId = await env.runJob(`cp${point}`);
        ctx.figures.add('runsStarted');
        // the traced worker dies at its N-th call, or the run ends first (fewer calls than N)
        while (traced.alive && !env.finalState(runId)) {
          await env.poll();
          await sleep(50);
        }
        const killed = !traced.alive;
        await strace.stop();
        if (killed) {
          ctx.figures.add('commitPointKills');
          // the next worker finishes this run and is traced for the next point
          worker = await env.startWorker(`worker-${point}b`, ['--concurrency', '1'], { UV_THREADPOOL_SIZE: '1' });
          if (!PUBLISHING.includes(family)) others.push([family, n + 1]);
          else if (n < MAX_PUBLISHING_POINTS) queue.push([family, n + 1]);
        }
        const state = await env.waitFinal(runId);
        ctx.log(`${family} #${n}: ${killed ? 'killed there' : 'not reached'}; run ended ${state ?? 'NOT FINAL'}`);
        await env.account(runId, state, `commit-points ${family} #${n}`, pair.filesystems, dirCompare(pair.sender, receiver, newestSnap(pair)));
      }
    });
  },
};

/** Attaches strace to every thread of the worker; it SIGKILLs the worker at the n-th call of `calls`. */
async function traceAndKill(worker: FerryProcess, calls: string[], n: number): Promise<{ stop(): Promise<void> }> {
  const list = calls.join(',');
  worker.expectKill();
  const child = spawn('strace', ['-f', '-p', String(worker.pid), '-o', '/dev/null', '-e', `trace=${list}`, '-e', `inject=${list}:signal=SIGKILL:when=${n}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  // strace says "Process PID attached" (for each thread) once it traces
  const deadline = Date.now() + 10_000;
  while (!err.includes('attached')) {
    if (child.exitCode !== null) throw new Error(`strace exited (${child.exitCode}): ${err}`);
    if (Date.now() > deadline) throw new Error(`strace did not attach within 10 s: ${err}`);
    await sleep(20);
  }
  await sleep(200); // the other threads
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    // strace detaches on SIGTERM; the worker, if alive, goes on untraced
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
