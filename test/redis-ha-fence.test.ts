import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalAddress } from '../src/util/redis.js';
import { addressesOf } from '../src/util/sentinel-view.js';
import { openTestEngine } from './helpers/engine.js';
import { captureLog } from './helpers/log-capture.js';
import { startSentinelTopology, type SentinelTopology, type TopologyNode } from './helpers/sentinel.js';
import { registry } from './fixtures/machines.js';

/** every sentinel forgets the group and monitors it again at `node` (they name it at once, whatever its role) */
async function sentinelsName(topo: SentinelTopology, node: TopologyNode): Promise<void> {
  for (const s of topo.sentinels) {
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

describe('Redis Sentinel: a confirmation checks the sentinels still name the server that acknowledged', () => {
  let topo: SentinelTopology;
  before(async () => { topo = await startSentinelTopology({ replicas: 1 }); });
  after(async () => { await topo?.stop(); });

  it('a commit on a primary that keeps its replica but is no longer named is refused, and confirmed once it is named again', async () => {
    assert.equal(normalAddress('::ffff:127.0.0.1', '6379'), '127.0.0.1:6379');
    assert.equal(normalAddress('::1', 1), '[::1]:1');
    const { logger } = captureLog('info');
    const engine = openTestEngine(topo.target, { prefix: `fence${process.pid}`, registry, logger, replicas: { minReplicas: 1, timeoutMs: 300 } });
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
        assert.equal(err.message, `the sentinels name another primary (127.0.0.1:${other.port}), not 127.0.0.1:${p.port}`);
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
