import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../src/cli/embedded-redis.js';
import type { TransitionEvent } from '../src/engine/index.js';
import { InvalidArgumentError } from '../src/errors/index.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { openRedis, reconnectsOn, redisOptions } from '../src/util/redis.js';
import { waitForPrimary } from '../src/util/redis-connect.js';
import { isOutageError } from '../src/util/redis-status.js';
import { describeTarget, parseSentinels, redisSettingsFromEnv, redisTargetFrom } from '../src/util/redis-target.js';
import { connectedReplicas } from '../src/engine/replica-wait.js';
import { openTestEngine } from './helpers/engine.js';
import { captureLog } from './helpers/log-capture.js';
import { tree } from './helpers/files.js';
import { runProcess, until } from './helpers/processes.js';
import { healthHandlers } from '../src/grpc/server-kit.js';
import { replicate, replicationEngine, tempDir } from './helpers/replication.js';
import { startSentinelTopology, type SentinelTopology } from './helpers/sentinel.js';
import { registry } from './fixtures/machines.js';

function fieldOfError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    return String(err.details.field);
  }
  assert.fail('no error');
}

describe('Redis settings: URL or Sentinel, secrets from files (pure)', () => {
  it('parses a URL, sentinels, and reads password files; errors name the setting', () => {
    const d = tempDir('redis-settings');
    try {
      writeFileSync(join(d.path, 'pw'), 's3cret\n');
      writeFileSync(join(d.path, 'spw'), 'sentinel-pw');
      writeFileSync(join(d.path, 'empty'), '');
      assert.deepEqual(redisTargetFrom({ REDIS_URL: 'rediss://redis.example:6380/2' }), { url: 'rediss://redis.example:6380/2' });
      const t = redisTargetFrom({
        REDIS_SENTINELS: '10.0.0.1:26379, [::1]:26380,s3:26381', REDIS_SENTINEL_MASTER: 'ferry',
        REDIS_USERNAME: 'ferry', REDIS_PASSWORD_FILE: join(d.path, 'pw'), REDIS_SENTINEL_PASSWORD_FILE: join(d.path, 'spw'),
      });
      assert.deepEqual(t, {
        sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '::1', port: 26380 }, { host: 's3', port: 26381 }],
        master: 'ferry', username: 'ferry', password: 's3cret', sentinelPassword: 'sentinel-pw',
      });
      assert.equal(describeTarget(t), 'master "ferry" of sentinels 10.0.0.1:26379,::1:26380,s3:26381');
      assert.equal(describeTarget({ url: 'redis://u:pw@h:1/3' }), 'redis://h:1/3', 'no credentials in messages');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_SENTINELS: 'a:1' })), 'REDIS_SENTINEL_MASTER');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_SENTINELS: 'a', REDIS_SENTINEL_MASTER: 'm' })), 'REDIS_SENTINELS');
      assert.equal(fieldOfError(() => parseSentinels('a:99999')), 'REDIS_SENTINELS');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_URL: 'http://h:1' })), 'REDIS_URL');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_URL: 'not a url' })), 'REDIS_URL');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_URL: 'redis://h:1', REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'm' })), 'REDIS_SENTINELS');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_URL: 'redis://h:1', REDIS_SENTINEL_MASTER: 'm' })), 'REDIS_SENTINEL_MASTER');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_URL: 'redis://h:1', REDIS_PASSWORD_FILE: join(d.path, 'missing') })), 'REDIS_PASSWORD_FILE');
      assert.equal(fieldOfError(() => redisTargetFrom({ REDIS_URL: 'redis://h:1', REDIS_PASSWORD_FILE: join(d.path, 'empty') })), 'REDIS_PASSWORD_FILE');
      assert.deepEqual(redisSettingsFromEnv({ REDIS_URL: ' redis://h:1 ', REDIS_SENTINELS: '', OTHER: 'x' }), { REDIS_URL: 'redis://h:1' });
    } finally {
      d.remove();
    }
  });

  it('connection options: Sentinel with role master and failover detection, reconnect on READONLY; outage errors recognised', () => {
    const o = redisOptions({ sentinels: [{ host: 'a', port: 1 }], master: 'm', sentinelPassword: 'p' });
    assert.equal(o.maxRetriesPerRequest, null);
    assert.equal(o.name, 'm');
    assert.equal(o.role, 'master');
    assert.equal(o.failoverDetector, false);
    assert.equal(o.sentinelPassword, 'p');
    assert.equal(reconnectsOn(new Error("READONLY You can't write against a read only replica.")), 2);
    assert.equal(reconnectsOn(new Error('ERR unknown command')), false);
    assert.ok(isOutageError(new Error('connect ECONNREFUSED 127.0.0.1:1')));
    assert.ok(isOutageError(new Error("READONLY You can't write against a read only replica.")));
    assert.ok(!isOutageError(new Error('ERR wrong number of arguments')));
    assert.equal(connectedReplicas('# Replication\r\nrole:master\r\nconnected_slaves:2\r\n'), 2);
    assert.equal(connectedReplicas('role:slave\r\n'), 0);
  });

  it('gRPC health answers NOT_SERVING while the serving check says no (Redis unreachable)', () => {
    let up = true;
    const h = healthHandlers('ferry.v1.Orchestrator', () => up);
    const check = () => {
      let status = '';
      h.Check({ request: { service: '' } } as never, ((err: unknown, res: { status: string }) => { status = res.status; }) as never);
      return status;
    };
    assert.equal(check(), 'SERVING');
    up = false;
    assert.equal(check(), 'NOT_SERVING');
  });
});

function ferry(args: string[], env: Record<string, string | undefined> = {}) {
  return runProcess(process.execPath, ['bin/ferry.mjs', ...args], { cwd: process.cwd(), env: { FERRY_LOG_LEVEL: 'warn', REDIS_URL: undefined, ...env } });
}

describe('Redis Sentinel: failover', () => {
  let topo: SentinelTopology;
  before(async () => { topo = await startSentinelTopology(); });
  after(async () => { await topo?.stop(); });

  it('a clear one-line error when no sentinel answers, or the master name is unknown', async () => {
    const nobody = { sentinels: [{ host: '127.0.0.1', port: await freePort() }, { host: '127.0.0.1', port: await freePort() }], master: topo.master };
    const unknown = { ...topo.target, master: 'no-such-master' };
    for (const [target, expected] of [[nobody, /^Redis unavailable \(master "ferry-test" of sentinels .*\) after 1 s: no sentinel answered at 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\)$/], [unknown, /know no master named "no-such-master"/]] as const) {
      const conn = openRedis(target);
      try {
        await assert.rejects(waitForPrimary(conn, target, 1000), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'REDIS_UNAVAILABLE');
          assert.match(err.message, expected);
          assert.ok(!err.message.includes('\n'), 'one line');
          return true;
        });
      } finally {
        conn.disconnect();
      }
    }
    const ok = openRedis(topo.target);
    await waitForPrimary(ok, topo.target, 10_000);
    ok.disconnect();
  });

  it('the CLI: sentinels as flags or environment; no Redis within --redis-wait-ms is one line and status 3; no password in argv', async () => {
    const sentinels = topo.target.sentinels!.map((a) => `${a.host}:${a.port}`).join(',');
    const viaFlags = await ferry(['--redis-sentinels', sentinels, '--redis-sentinel-master', topo.master, 'status', '--json']);
    assert.equal(viaFlags.code, 0, viaFlags.stderr);
    const viaEnv = await ferry(['status', '--json'], { REDIS_SENTINELS: sentinels, REDIS_SENTINEL_MASTER: topo.master });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const nobody = await ferry(['--redis-wait-ms', '1000', 'status'], { REDIS_SENTINELS: `127.0.0.1:${await freePort()}`, REDIS_SENTINEL_MASTER: 'm' });
    assert.equal(nobody.code, 3, nobody.stderr);
    assert.match(nobody.stderr, /^ferry: Redis unavailable \(master "m" of sentinels 127\.0\.0\.1:\d+\) after 1 s: no sentinel answered at 127\.0\.0\.1:\d+ \(.*\)\n$/);
    const unknown = await ferry(['--redis-wait-ms', '1000', 'status'], { REDIS_SENTINELS: sentinels, REDIS_SENTINEL_MASTER: 'nope' });
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(unknown.stderr, /know no master named "nope"/);
    const argvPassword = await ferry(['--redis-url', 'redis://:secret@127.0.0.1:1', 'status']);
    assert.equal(argvPassword.code, 2, argvPassword.stderr);
    assert.match(argvPassword.stderr, /--redis-url: carries a password/);
    const noMaster = await ferry(['status'], { REDIS_SENTINELS: sentinels });
    assert.equal(noMaster.code, 2, noMaster.stderr);
    assert.match(noMaster.stderr, /REDIS_SENTINEL_MASTER: missing/);
  });

  it('under --min-replicas 1, what was acknowledged (a start, a send, a transition a follower saw) survives the primary\'s SIGKILL; the outage is logged once', async () => {
    const { logger, lines } = captureLog('info');
    const prefix = `ha${process.pid}`;
    // the engine's default wait for replicas (1 s). With 300 ms (500 in the next test), both tests once
    // failed right after a test that wrote GiBs: no replica acknowledged in 5 tries, most likely
    // held up by the kernel's write-back
    const engine = openTestEngine(topo.target, { prefix, registry, logger, replicas: { minReplicas: Number(process.env.FERRY_TEST_MIN_REPLICAS ?? 1) } });
    engine.startWorkers({ reconcileIntervalMs: 0 });
    const delivered: TransitionEvent[] = [];
    const following = new AbortController();
    const follow = engine.transitions.follow('0', (e) => { delivered.push(e); }, following.signal).catch(() => undefined);
    const old = await topo.primary();
    const replicas = topo.nodes.filter((n) => n !== old);
    try {
      await engine.start('timer', 'g', { delayMs: 3_600_000 });
      await engine.send('g', { type: 'leave' });
      await until('the follower to see Left', () => delivered.some((e) => e.to === 'Left'));
      // the follower sees a commit before its drain job ends: let the job end and reach the replicas
      // too (a write of ours acknowledged by all covers every earlier one), or the new primary would
      // hold that job active and recover it only once BullMQ finds it stalled, past this test's waits
      await engine.settled();
      const barrier = topo.connect(old);
      await barrier.set(`${prefix}:barrier`, '1');
      assert.equal(await barrier.call('WAIT', String(replicas.length), '10000'), replicas.length, 'the replicas acknowledged the barrier');
      barrier.disconnect();
      // the replicas stop acknowledging: what the primary takes now is its alone
      for (const r of replicas) await topo.signal(r, 'SIGSTOP');
      // and their links drop (a paused replica would still read what its socket buffered): nothing new reaches them
      const admin = topo.connect(old);
      await admin.call('CLIENT', 'KILL', 'TYPE', 'replica');
      admin.disconnect();
      const acknowledged: string[] = [];
      await engine.send('g', { type: 'back' }).then(() => acknowledged.push('back'), (err: { code?: string }) => assert.equal(err.code, 'REPLICA_WAIT_TIMEOUT'));
      // the drain commits on the primary alone and fails its confirmation: let it try (under --min-replicas 0 the follower sees it)
      const refused = async () => Number((await engine.metrics.registry.getSingleMetric('ferry_engine_commit_replica_timeouts_total')!.get()).values[0]?.value ?? 0);
      await until('a commit refused for want of replicas', async () => (await refused()) >= 2 || delivered.filter((e) => e.to === 'Waiting').length >= 2);
      const seenBeforeCrash = delivered.map((e) => `${e.id} ${e.machineId} ${e.to} v${e.version}`);
      await topo.signal(old, 'SIGKILL');
      for (const r of replicas) await topo.signal(r, 'SIGCONT');
      const primary = await topo.failedOver(old);
      // what follows sends again: under --min-replicas 1 its commits wait for the surviving replica
      // to follow the new primary (what is asserted here is what the failover kept, not how soon
      // Redis re-attaches a replica: seconds when a busy disk slows its resync)
      await topo.replicasOnline(primary, replicas.length - 1);

      // everything acknowledged is on the new primary
      await engine.waitFor('g', () => true, { timeoutMs: 30_000 });
      const log = (await engine.transitions.read('0')).map((e) => `${e.id} ${e.machineId} ${e.to} v${e.version}`);
      for (const seen of seenBeforeCrash) assert.ok(log.includes(seen), `a transition the follower saw was taken back by the failover: ${seen}\n${log.join('\n')}`);
      const rec = (await engine.get('g'))!;
      if (acknowledged.includes('back')) assert.equal(rec.value, 'Waiting', 'an acknowledged send was lost');
      // and the machine goes on after the failover: a caller whose send was refused sends again
      if (rec.value === 'Left') await engine.send('g', { type: 'back' });
      await engine.waitFor('g', (r) => r.value === 'Waiting', { timeoutMs: 30_000 });
      await engine.send('g', { type: 'leave' });
      await until('the follower to see the machine go on', () => delivered.filter((e) => e.to === 'Left').length === 2, 30_000);
      const versions = delivered.filter((e) => e.machineId === 'g').map((e) => e.version);
      assert.deepEqual(versions, [...versions].sort((a, b) => a - b), 'the follower saw no version twice nor out of order');
      assert.equal(new Set(versions).size, versions.length);

      const outage = lines.filter((l) => l.msg.startsWith('redis unavailable'));
      const back = lines.filter((l) => l.msg === 'redis back');
      assert.equal(outage.length, 1, JSON.stringify(outage));
      assert.equal(back.length, 1, JSON.stringify(back));
      // the old primary comes back as a replica, and nothing it took alone is trusted
      await topo.restart(old);
      await until('the old primary to be a replica', async () => {
        const c = topo.connect(old);
        try { return ((await c.call('ROLE')) as unknown[])[0] === 'slave'; } finally { c.disconnect(); }
      }, 30_000);
    } finally {
      for (const r of replicas) await topo.signal(r, 'SIGCONT');
      following.abort();
      await follow;
      await engine.close();
    }
  });

  it('a replication run in flight survives a failover: it completes, the trees are equal', async () => {
    await topo.whole(); // whatever the test before left killed
    const d = tempDir('ha-run');
    const engine = replicationEngine(topo.target, { replicas: { minReplicas: 1 } });
    try {
      const root = join(d.path, 's');
      const fss = ['a', 'b', 'c', 'd'];
      for (const fs of fss) {
        mkdirSync(join(root, fs), { recursive: true });
        for (let i = 0; i < 200; i++) writeFileSync(join(root, fs, `f${i}`), `${fs} ${i}\n`.repeat(500));
      }
      const sender = createDirDriver(root);
      await sender.snapshot(fss, 's1');
      const opts = { sender: `dir:${root}`, receiver: `dir:${d.path}/r`, concurrency: 1 };
      const running = replicate(engine, opts, 120_000);
      await until('the run to be working', async () => (await engine.transitions.read('0')).some((e) => e.kind === 'replication' && e.to === 'Working'), 30_000);
      const old = await topo.primary();
      await topo.signal(old, 'SIGKILL');
      const primary = await topo.failedOver(old);
      const report = await running;
      assert.equal(report.state, 'Completed', JSON.stringify(report));
      for (const fs of fss) assert.deepEqual(tree(join(d.path, 'r', fs)), tree(join(root, fs)));
      await topo.restart(old);
      // the run above rode out the failover by itself (its jobs retry while no replica confirms);
      // the next run's start is a caller's command: it waits for a replica like test 1's sends
      await topo.replicasOnline(primary, 1);
      // and an incremental run after it, on the new primary
      writeFileSync(join(root, 'a', 'new'), 'new\n');
      await sender.snapshot(fss, 's2');
      const inc = await replicate(engine, opts, 60_000);
      assert.equal(inc.state, 'Completed', JSON.stringify(inc));
      for (const fs of fss) assert.deepEqual(tree(join(d.path, 'r', fs)), tree(join(root, fs)));
    } finally {
      await engine.close();
      d.remove();
    }
  });
});
