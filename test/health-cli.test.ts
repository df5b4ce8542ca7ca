import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { startTestRedis } from './helpers/redis.js';
import { runProcess, startNodeProcess, stopProcess } from './helpers/processes.js';
import { serve, stop, type Served } from './helpers/serve.js';
import type { ChildProcess } from 'node:child_process';

/** `ferry health ...`: the probe the Dockerfile's HEALTHCHECK runs (docs/deploy.md). */
function health(args: string[], env: Record<string, string | undefined> = {}) {
  return runProcess(process.execPath, ['bin/ferry.mjs', 'health', ...args], { env: { FERRY_HEALTH_GRPC: undefined, ...env }, timeoutMs: 60_000 });
}

describe('ferry health (container health probe)', () => {
  let dir: string;
  let redis: EmbeddedRedis;
  let agent: ChildProcess;
  let agentPort: number;
  let agentMetricsPort: number;
  let served: Served;
  let grpcPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-health-cli-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'health-cli-test-token-0123456789\n');
    mkdirSync(join(dir, 'a'));
    redis = await startTestRedis();
    agentPort = await freePort();
    agentMetricsPort = await freePort();
    agent = await startNodeProcess('bin/ferry.mjs', ['agent', '--listen', `127.0.0.1:${agentPort}`, '--allow', `dir:${join(dir, 'a')}`, '--token-file', tokenFile, '--metrics', `127.0.0.1:${agentMetricsPort}`], {}, 'metrics on http://');
    grpcPort = await freePort();
    served = await serve(['--grpc', `127.0.0.1:${grpcPort}`, '--token-file', tokenFile, '--no-metrics'], { REDIS_URL: redis.url });
  });

  after(async () => {
    if (agent) await stopProcess(agent);
    if (served) await stop(served);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 0 for a serving agent and for `ferry serve --grpc` (no token needed), 1 for nothing listening', async () => {
    const a = await health(['--grpc', `127.0.0.1:${agentPort}`]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /healthy: gRPC 127\.0\.0\.1:\d+ SERVING/);
    const s = await health(['--grpc', `127.0.0.1:${grpcPort}`]);
    assert.equal(s.code, 0, s.stderr);
    const none = await health(['--grpc', `127.0.0.1:${await freePort()}`, '--timeout-ms', '2000']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /unhealthy: gRPC 127\.0\.0\.1:\d+: /);
  });

  it('reads FERRY_HEALTH_GRPC when given no flag (one HEALTHCHECK line serves every role)', async () => {
    const r = await health([], { FERRY_HEALTH_GRPC: `127.0.0.1:${agentPort}`, REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gRPC/);
  });

  it("PINGs REDIS_URL's Redis otherwise (a worker), and says unhealthy, with the password hidden, when it is down", async () => {
    const up = await health([], { REDIS_URL: redis.url });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /healthy: Redis .* PONG/);
    const forced = await health(['--redis'], { REDIS_URL: redis.url, FERRY_HEALTH_GRPC: '127.0.0.1:1' });
    assert.equal(forced.code, 0, forced.stderr);
    const down = await health(['--timeout-ms', '2000'], { REDIS_URL: `redis://:secret@127.0.0.1:${await freePort()}` });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /unhealthy: Redis redis:\/\/127\.0\.0\.1:\d+: /);
    assert.doesNotMatch(down.stderr, /secret/);
  });

  it('reads Redis as every command does: through REDIS_SENTINELS when set (the compose ha profile), with a clear line for bad settings', async () => {
    const port = await freePort();
    const none = await health(['--timeout-ms', '2000'], { REDIS_URL: '', REDIS_SENTINELS: `127.0.0.1:${port}`, REDIS_SENTINEL_MASTER: 'ferry' });
    assert.equal(none.code, 1);
    assert.match(none.stderr, new RegExp(`^unhealthy: Redis master "ferry" of sentinels 127\\.0\\.0\\.1:${port}: `));
    const bad = await health([], { REDIS_URL: '', REDIS_SENTINELS: `127.0.0.1:${port}` });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^unhealthy: Redis: REDIS_SENTINEL_MASTER: missing/);
  });

  it('ferry agent --metrics serves its process metrics and /healthz, for Prometheus to scrape (docker-compose.yml)', async () => {
    const metrics = await fetch(`http://127.0.0.1:${agentMetricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^process_cpu_user_seconds_total /m);
    const healthz = await fetch(`http://127.0.0.1:${agentMetricsPort}/healthz`);
    assert.equal(healthz.status, 200);
  });
});
