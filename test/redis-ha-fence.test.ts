import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalAddress } from '../src/util/redis.js';
import { addressesOf, masterFields, quorumRefusal, type SentinelAnswer } from '../src/util/sentinel-view.js';
import { openTestEngine } from './helpers/engine.js';
import { captureLog } from './helpers/log-capture.js';
import { startSentinelTopology, type SentinelTopology, type TopologyNode } from './helpers/sentinel.js';
import { registry } from './fixtures/machines.js';
import type { TestEngine } from './helpers/engine.js';

/** each of `sentinels` (all by default) forgets the group and monitors it again at `node` (they name it at once, whatever its role) */
async function sentinelsName(topo: SentinelTopology, node: TopologyNode, sentinels = topo.sentinels): Promise<void> {
  for (const s of sentinels) {
    const c = topo.connect(s);
    try {
      await c.call('SENTINEL', 'REMOVE', topo.master);
      await c.call('SENTINEL', 'MONITOR', topo.master, '127.0.0.1', node.port, 2);
    } finally {
      c.disconnect();
    }
  }
}

describe('the primary a sentinel names, as addresses', () => {
  it('an IP as it is; a host name (announce-hostnames, as in the compose HA profile) resolved to its addresses', async () => {
    assert.deepEqual(await addressesOf('127.0.0.1', '6379'), ['127.0.0.1:6379']);
    assert.ok((await addressesOf('localhost', 6379)).includes('127.0.0.1:6379'), 'localhost resolves to 127.0.0.1');
    assert.deepEqual(await addressesOf('no-such-host.invalid', 6379), ['no-such-host.invalid:6379'], 'an unknown name matches no socket');
  });
});

describe('the sentinels\' verdict on the server that acknowledged (pure)', () => {
  const says = (sentinel: string, primary: string, configEpoch: number, flags = 'master'): SentinelAnswer => ({ sentinel, primary: [primary], configEpoch, flags: flags.split(','), failoverState: null });
  const silent = (sentinel: string): SentinelAnswer => ({ sentinel, error: 'no answer within 300 ms' });
  it('a sentinel behind the others (an older config-epoch, the old primary down) does not object; one at the same epoch does', () => {
    assert.equal(quorumRefusal([says('s0', 'n:1', 5), says('s1', 'n:1', 5), says('s2', 'o:1', 4, 'master,s_down,o_down')], 'n:1', 300), null);
    assert.equal(quorumRefusal([says('s0', 'n:1', 5), says('s1', 'n:1', 5), says('s2', 'o:1', 5)], 'n:1', 300), 'the sentinels do not confirm n:1 as the primary: s2 names o:1 (config-epoch 5)');
    // the old primary resumed: the sentinels that heard of the failover name the new one at a newer epoch
    assert.match(quorumRefusal([says('s0', 'o:1', 4), says('s1', 'n:1', 5), says('s2', 'o:1', 4)], 'o:1', 300)!, /s1 names n:1 \(config-epoch 5\)$/);
    assert.equal(quorumRefusal([says('s0', 'n:1', 5), says('s1', 'n:1', 5), silent('s2')], 'n:1', 300), null, 'a majority is enough');
    assert.equal(quorumRefusal([says('s0', 'n:1', 5), silent('s1'), silent('s2')], 'n:1', 300), 'the sentinels do not confirm n:1 as the primary: 1 of 3 answered within 300 ms, 2 needed (s1: no answer within 300 ms; s2: no answer within 300 ms)');
  });
});

describe('Redis Sentinel: a confirmation checks the sentinels still name the server that acknowledged', () => {
  let topo: SentinelTopology;
  before(async () => { topo = await startSentinelTopology({ replicas: 1 }); });
  after(async () => { await topo?.stop(); });

  it('a commit on a primary that keeps its replica but is no longer named is refused, and confirmed once it is named again', async () => {
    assert.equal(normalAddress('::ffff:127.0.0.1', '6379'), '127.0.0.1:6379');
    assert.equal(normalAddress('::1', 1), '[::1]:1');
    const { logger } = captureLog('info');
    const engine = openTestEngine(topo.target, { prefix: `fence${process.pid}`, registry, logger, replicas: { minReplicas: 1, timeoutMs: 1000 } });
    engine.startWorkers({ reconcileIntervalMs: 0 });
    const p = await topo.primary();
    const other = topo.nodes.find((n) => n !== p)!;
    const refused = async () => Number((await engine.metrics.registry.getSingleMetric('ferry_engine_commit_replica_timeouts_total')!.get()).values[0]?.value ?? 0);
    try {
      await engine.start('timer', 'g', { delayMs: 3_600_000 });
      assert.equal(await refused(), 0);
      // the engine stays connected to P, which keeps its replica (WAIT 1 answers 1); the sentinels name the replica
      await sentinelsName(topo, other);
      await assert.rejects(engine.send('g', { type: 'leave' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'REPLICA_WAIT_TIMEOUT', String(err));
        // each sentinel that answered in time names the other server; on a busy machine one may be late
        const prefix = `the sentinels do not confirm 127.0.0.1:${p.port} as the primary: `;
        assert.ok(err.message.startsWith(prefix), err.message);
        const named = topo.sentinels.filter((s) => err.message.includes(`127.0.0.1:${s.port} names 127.0.0.1:${other.port} (config-epoch 0)`));
        const late = topo.sentinels.filter((s) => err.message.includes(`127.0.0.1:${s.port}: no answer within`));
        assert.ok(named.length >= 1, `a sentinel's verdict is in the message: ${err.message}`);
        assert.equal(named.length + late.length, topo.sentinels.length, `every sentinel either names ${other.port} or was late: ${err.message}`);
        return true;
      });
      assert.ok((await refused()) >= 1, 'counted like a WAIT timeout');
      // named again: the same engine's commits are confirmed (the drain retries the refused one)
      await sentinelsName(topo, p);
      await engine.waitFor('g', (r) => r.value === 'Left', { timeoutMs: 30_000 });
      await engine.send('g', { type: 'back' });
      await engine.waitFor('g', (r) => r.value === 'Waiting', { timeoutMs: 30_000 });
    } finally {
      await engine.close();
    }
  });
});

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `SENTINEL <args>` on sentinel `s`, as a name → value record when the reply is a flat list */
async function askSentinel(topo: SentinelTopology, s: TopologyNode, ...args: string[]): Promise<unknown> {
  const c = topo.connect(s);
  try {
    return await c.call('SENTINEL', ...args);
  } finally {
    c.disconnect();
  }
}

describe('Redis Sentinel: a confirmation needs a majority of the sentinels, all naming the server that acknowledged, none in a failover', () => {
  let topo: SentinelTopology;
  let p: TopologyNode;
  // the last sentinel is the odd one out below: a check that asked only the first would confirm
  let [s0, s1, s2]: TopologyNode[] = [];
  before(async () => {
    topo = await startSentinelTopology({ replicas: 2 });
    p = await topo.primary();
    [s0, s1, s2] = topo.sentinels;
  });
  after(async () => { await topo?.stop(); });

  const sentinel = (s: TopologyNode) => `127.0.0.1:${s.port}`;
  // how long a confirmation waits for the sentinels: long enough that a busy machine's sentinels answer (300 ms was not)
  const ASK_MS = 1000;
  async function withEngine(fn: (engine: TestEngine, refusals: () => Promise<number>) => Promise<void>): Promise<void> {
    const { logger } = captureLog('info');
    const engine = openTestEngine(topo.target, { prefix: `quorum${process.pid}`, registry, logger, replicas: { minReplicas: 1, timeoutMs: ASK_MS } });
    engine.startWorkers({ reconcileIntervalMs: 0 });
    try {
      await fn(engine, async () => Number((await engine.metrics.registry.getSingleMetric('ferry_engine_commit_replica_timeouts_total')!.get()).values[0]?.value ?? 0));
    } finally {
      await engine.close();
    }
  }
  /** the machine's `leave` (it was started before the fault) is refused with a REPLICA_WAIT_TIMEOUT whose message `check` accepts, counted */
  async function refusedLeave(engine: TestEngine, id: string, refusals: () => Promise<number>, check: (message: string) => void): Promise<void> {
    const before = await refusals();
    await assert.rejects(engine.send(id, { type: 'leave' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'REPLICA_WAIT_TIMEOUT', String(err));
      check(err.message);
      return true;
    });
    assert.ok((await refusals()) > before, 'counted like a WAIT timeout');
  }

  it('every sentinel names the primary: confirmed; one of three silent: still confirmed', async () => {
    await withEngine(async (engine, refusals) => {
      await engine.start('timer', 'all', { delayMs: 3_600_000 });
      await engine.send('all', { type: 'leave' });
      await topo.signal(s2, 'SIGSTOP');
      try {
        await engine.send('all', { type: 'back' });
      } finally {
        await topo.signal(s2, 'SIGCONT');
      }
      assert.equal(await refusals(), 0);
    });
  });

  it('only a minority of the sentinels answers: refused, naming the silent ones; confirmed once they answer again', async () => {
    await withEngine(async (engine, refusals) => {
      await engine.start('timer', 'minority', { delayMs: 3_600_000 });
      await topo.signal(s1, 'SIGSTOP');
      await topo.signal(s2, 'SIGSTOP');
      try {
        await refusedLeave(engine, 'minority', refusals, (message) => {
          assert.ok(message.startsWith(`the sentinels do not confirm 127.0.0.1:${p.port} as the primary: 1 of 3 answered within ${ASK_MS} ms, 2 needed (`), message);
          assert.ok(message.includes(`${sentinel(s1)}: `) && message.includes(`${sentinel(s2)}: `) && !message.includes(`${sentinel(s0)}: `), message);
        });
      } finally {
        await topo.signal(s1, 'SIGCONT');
        await topo.signal(s2, 'SIGCONT');
      }
      await engine.waitFor('minority', (r) => r.value === 'Left', { timeoutMs: 30_000 });
    });
  });

  it('one sentinel names another primary while the others name this one: refused', async () => {
    const r = topo.nodes.find((n) => n !== p)!;
    await withEngine(async (engine, refusals) => {
      await engine.start('timer', 'divided', { delayMs: 3_600_000 });
      await sentinelsName(topo, r, [s2]);
      try {
        await refusedLeave(engine, 'divided', refusals, (message) => {
          assert.equal(message, `the sentinels do not confirm 127.0.0.1:${p.port} as the primary: ${sentinel(s2)} names 127.0.0.1:${r.port} (config-epoch 0)`);
        });
      } finally {
        await sentinelsName(topo, p, [s2]);
      }
      await engine.waitFor('divided', (st) => st.value === 'Left', { timeoutMs: 30_000 });
    });
  });

  it('a sentinel reports a failover in progress (its promotion stuck on a paused replica) while all still name this primary: refused', async () => {
    // s2 leads a forced failover to r1 (r2 may not be promoted), which cannot answer: it stays in wait_promotion
    const [r1, r2] = topo.nodes.filter((n) => n !== p);
    const c = topo.connect(r2);
    await c.call('CONFIG', 'SET', 'replica-priority', '0');
    c.disconnect();
    await askSentinel(topo, s2, 'DEBUG', 'info-period', '100');
    await askSentinel(topo, s2, 'SET', topo.master, 'failover-timeout', '600000');
    await until('s2 to know r2 may not be promoted and r1 may', async () => {
      const replicas = ((await askSentinel(topo, s2, 'REPLICAS', topo.master)) as unknown[]).map(masterFields);
      const priority = (n: TopologyNode) => replicas.find((f) => Number(f.port) === n.port)?.['slave-priority'];
      return priority(r2) === '0' && priority(r1) === '100';
    });
    await withEngine(async (engine, refusals) => {
      await engine.start('timer', 'failing-over', { delayMs: 3_600_000 });
      await topo.signal(r1, 'SIGSTOP');
      assert.equal(await askSentinel(topo, s2, 'FAILOVER', topo.master), 'OK');
      const state = masterFields(await askSentinel(topo, s2, 'MASTER', topo.master));
      assert.ok(state.flags.split(',').includes('failover_in_progress') && Number(state.port) === p.port, JSON.stringify(state));
      await refusedLeave(engine, 'failing-over', refusals, (message) => {
        assert.ok(message.startsWith(`the sentinels do not confirm 127.0.0.1:${p.port} as the primary: ${sentinel(s2)} reports it in a failover or down (flags master,failover_in_progress`), message);
        assert.ok(!message.includes(sentinel(s0)) && !message.includes(sentinel(s1)), message);
      });
    });
  });
});
