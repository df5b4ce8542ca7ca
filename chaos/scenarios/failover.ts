import { join } from 'node:path';
import type { Scenario } from '../scenario.js';
import { ArchiveFeed } from '../archive-feed.js';
import { ChaosEnv, dirCompare, scaledBytes, SETTLE_MS } from '../env.js';
import { sleep } from '../processes.js';
import { changeAndSnapshot, newestSnap, prepareDirPair } from './dir-runs.js';

/** faults a run of this scenario makes at least, whatever its budget (issue 19: ≥10 kills, 2 pauses) */
const MIN_KILLS = 10;
const MIN_PAUSES = 2;

/**
 * Redis Sentinel failover (docs/ha.md): a primary, two replicas and three sentinels on loopback;
 * two workers and a `ferry serve` connected through the sentinels; full then incremental dir runs,
 * and archiver partitions in flight (a log source fed by this process all along, archived into a
 * file sink by the `archives:` of serve's config file: every object is then checked by sha256).
 * While runs are in flight the primary is SIGKILLed (then started again on its data, to come back
 * as a replica), and every fifth fault it is instead paused with SIGSTOP until the sentinels have
 * named a new primary, then resumed at once, while the other replica may still follow it (the
 * writes it took must not be trusted: a WAIT there is answered by that replica). After each failover
 * the time to the next committed (replica-confirmed) transition is measured. Every run must end,
 * Completed ones with the sender's trees, every committed entry must be in the sink with its
 * entry's checksum, every data node must be back in the topology (a replica of the last primary)
 * and no process may die of it.
 */
export const failover: Scenario = {
  name: 'failover',
  title: 'Sentinel failovers: primary SIGKILLed or paused during runs',
  share: 0.2,
  async run(ctx) {
    const { rng } = ctx;
    await ChaosEnv.use(ctx, async (env) => {
      const topo = env.topology!;
      const pair = await prepareDirPair(env, 'fo', 3, { files: 20, bytes: scaledBytes(ctx, 32) });
      const feed = new ArchiveFeed(env.dir, rng.fork('archive'));
      await env.startWorkersAndServe(['--config', feed.writeConfig(join(env.dir, 'archive.yaml'))]);
      feed.start();
      let kills = 0;
      let pauses = 0;
      let round = 0;
      const enough = () => kills >= MIN_KILLS && pauses >= MIN_PAUSES && Date.now() >= ctx.deadline;
      do {
        if (round > 0) await changeAndSnapshot(env, pair);
        const what = `${round === 0 ? 'full' : 'incremental'} run ${round + 1}`;
        const runId = await env.runJob(pair.job);
        ctx.figures.add('runsStarted');
        let faults = 0;
        for (let k = rng.int(1, 3); k > 0; k--) {
          await sleep(rng.int(100, 1500));
          await env.poll();
          if (env.finalState(runId) && faults > 0) break;
          const old = await topo.primary();
          const pause = pauses < MIN_PAUSES && (kills + pauses) % 5 === 4;
          await topo.signal(old, pause ? 'SIGSTOP' : 'SIGKILL');
          const next = await topo.failedOver(old, 60_000);
          const namedAt = Date.now();
          ctx.figures.add('failovers');
          faults++;
          if (pause) {
            pauses++;
            ctx.figures.add('primaryPauses');
            // resumed as soon as the sentinels name the new primary: the other replica may still follow the
            // old one, so a WAIT there is answered; the sentinels' check must refuse it (docs/ha.md)
            await topo.signal(old, 'SIGCONT');
          } else {
            kills++;
            ctx.figures.add('redisKills');
            await topo.restart(old);
          }
          ctx.log(`${what}: ${pause ? 'paused' : 'killed'} primary :${old.port}, now :${next.port}`);
          // the next transition committed on the new primary (and confirmed on a replica)
          const before = env.lastTransitionId;
          const bound = Date.now() + 60_000;
          while (Date.now() < bound && !env.finalState(runId)) {
            await env.poll();
            if (env.lastTransitionId !== before && Number(env.lastTransitionId.split('-')[0]) >= namedAt) {
              const ms = Number(env.lastTransitionId.split('-')[0]) - namedAt;
              ctx.figures.values.failoverToCommitMsMax = Math.max(ctx.figures.values.failoverToCommitMsMax, ms);
              break;
            }
            await sleep(100);
          }
        }
        const state = await env.waitFinal(runId);
        ctx.log(`${what}: ${faults} failovers, ended ${state ?? 'NOT FINAL'}`);
        await env.account(runId, state, `failover ${what}`, pair.filesystems, dirCompare(pair.sender, pair.receiver, newestSnap(pair)));
        round++;
      } while (!enough());
      await feed.stop();
      const missing = await feed.settle(SETTLE_MS);
      ctx.log(`archive: ${feed.expected.size} entries committed, ${missing.length} not in the sink ${SETTLE_MS / 1000} s after the faults stopped`);
      if (missing.length) ctx.log(`archive status: ${(await env.ferry(['archive', 'status', '--json'])).stdout.trim()}`);
      await feed.verify(ctx.figures, 'failover archive');
      await checkRejoined(env);
      await env.countDuplicateTransitions();
    }, { sentinel: true });
  },
};

/** Every data node runs and is the primary or a replica linked to it: a node left out needed a hand. */
async function checkRejoined(env: ChaosEnv): Promise<void> {
  const topo = env.topology!;
  const deadline = Date.now() + SETTLE_MS;
  let behind: string[] = [];
  for (;;) {
    const primary = await topo.primary();
    behind = [];
    for (const node of topo.nodes) {
      if (node === primary) continue;
      const r = topo.connect(node);
      try {
        const info = String(await r.info('replication').catch((err: Error) => err.message));
        const linked = info.includes('role:slave') && info.includes(`master_port:${primary.port}`) && info.includes('master_link_status:up');
        if (!node.running || !linked) behind.push(`:${node.port} (${node.running ? /role:\w+/.exec(info)?.[0] ?? info : 'not running'})`);
      } finally {
        r.disconnect();
      }
    }
    if (!behind.length) return;
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  env.ctx.figures.add('redisNodesNotRejoined', behind.length, `not replicas of the primary ${SETTLE_MS / 1000} s after the faults: ${behind.join(', ')}`);
}
