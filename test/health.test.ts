import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openRedis } from '../src/engine/index.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { freePort } from '../src/cli/embedded-redis.js';
import { TemporaryError, toErrorData } from '../src/errors/index.js';
import { TargetHealth } from '../src/health/target-health.js';
import type { TargetHealthRecord } from '../src/health/health-records.js';
import { closeRemoteClients } from '../src/grpc/endpoint-channels.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { createLogger } from '../src/util/logger.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { jobRegistry } from '../src/jobs/registry.js';
import { JobStore } from '../src/jobs/store.js';
import { invokeJob } from '../src/jobs/invoke.js';
import { validateJobSpec } from '../src/jobs/spec.js';
import { mergeRegistries } from '../src/engine/merge-registries.js';
import { startReplication } from '../src/replication/runs.js';
import { runReport } from '../src/replication/report.js';
import { openEndpoint } from '../src/storage/endpoint.js';
import { runProcess, startNodeProcess, stopProcess, until } from './helpers/processes.js';
import { TestEngine } from './helpers/engine.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';
import { sample } from './helpers/metrics.js';

/**
 * Health-gated scheduling against real `ferry agent` processes and a real redis-server: an agent
 * that is down makes the work for it wait (uncounted) instead of failing the run, and the work
 * resumes by itself once the agent is back. Backoffs are short here (ms instead of seconds) so the
 * outage outlasts the retry policy several times over without a slow test.
 */

const TOKEN = 'health-test-token-0123456789';
const MiB = 1024 * 1024;
let seq = 0;

/** a clock the test moves by hand: backoff arithmetic without waiting */
class ManualClock {
  constructor(public t = 1_800_000_000_000) {}
  now(): number {
    return this.t;
  }
}

interface AgentProcess { child: ChildProcess; port: number; target: string }

/** `ferry agent` serving `endpoint` on `port` (a free one unless given); resolves once it listens. */
async function startAgent(endpoint: string, tokenFile: string, port?: number): Promise<AgentProcess> {
  const p = port ?? await freePort();
  const child = await startNodeProcess('src/cli/main.ts', ['agent', '--listen', `127.0.0.1:${p}`, '--endpoint', endpoint, '--token-file', tokenFile], { FERRY_LOG_LEVEL: 'warn' }, 'agent on grpc://');
  return { child, port: p, target: `127.0.0.1:${p}` };
}

/** `node src/cli/main.ts ARGS`: its exit status and stdout. */
async function ferry(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runProcess(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: process.cwd(), env: { FERRY_LOG_LEVEL: 'warn', ...env } });
  return { code: r.code, out: r.stdout, err: r.stderr };
}


/** path -> sha256 of every file below dir */
function hashTree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) Object.assign(out, hashTree(p, `${prefix}${e.name}/`));
    else out[`${prefix}${e.name}`] = createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

describe('target health: records in Redis, backoff, the gate', () => {
  let redis: EmbeddedRedis;
  let conn: Redis;

  before(async () => {
    redis = await startTestRedis();
    conn = new Redis(redis.url);
  });
  after(async () => {
    conn?.disconnect();
    await redis?.stop();
  });

  it('a failure makes a target unhealthy; refusals carry the wait until the next check; checks double it; a success clears it', async () => {
    const clock = new ManualClock();
    const health = new TargetHealth({ redis: conn, prefix: `th${process.pid}x${++seq}`, clock, initialMs: 1000, maxMs: 4000, probeTimeoutMs: 500 });
    // nothing listens there: every health check fails
    const target = `127.0.0.1:${await freePort()}`;

    await health.admit(target);
    const first = await health.get(target);
    assert.equal(first?.state, 'healthy', 'a target is healthy until something fails');
    assert.equal(first?.lastUsedAt, clock.t);
    const startedAt = clock.t;

    clock.t += 10;
    const down = await health.reportFailure(target, new Error('connect ECONNREFUSED'));
    assert.deepEqual([down.failures, down.delayMs, down.until, down.since], [1, 1000, startedAt + 1010, startedAt + 10]);
    // failures reported while the wait runs (work started before) count, but do not double the wait
    await health.reportFailure(target, new Error('connection reset'));
    let rec = (await health.get(target))!;
    assert.deepEqual([rec.state, rec.failures, rec.nextCheckAt, rec.since, rec.lastError], ['unhealthy', 2, startedAt + 1010, startedAt + 10, 'connection reset']);

    clock.t += 400;
    const refused = await health.admit(target).then(() => null, (e: unknown) => e);
    assert.ok(refused instanceof TemporaryError, String(refused));
    assert.equal(refused.code, 'TARGET_UNHEALTHY');
    assert.equal(refused.details.retryAfterMs, 600);
    assert.match(refused.message, new RegExp(`target ${target} is unhealthy since ${new Date(startedAt + 10).toISOString()} \\(2 failures in a row, last: connection reset\\)`));
    // what the machine receives: a temporary error with the wait
    assert.deepEqual(toErrorData(refused), { name: 'TemporaryError', message: refused.message, kind: 'temporary', code: 'TARGET_UNHEALTHY', retryAfterMs: 600 });

    // due: the worker that gets there first checks it itself (fails: nothing listens), the wait doubles
    clock.t += 600;
    const checked = await health.admit(target).then(() => null, (e: unknown) => e as TemporaryError);
    assert.equal(checked?.code, 'TARGET_UNHEALTHY');
    assert.equal(checked?.details.retryAfterMs, 2000);
    rec = (await health.get(target))!;
    assert.deepEqual([rec.failures, rec.nextCheckAt], [3, clock.t + 2000]);
    assert.match(rec.lastError ?? '', /health check of 127\.0\.0\.1:\d+: .*(ECONNREFUSED|No connection)/);

    // one check at a time: of two callers finding it due, one holds the check, the other waits
    clock.t += 2000;
    const [a, b] = await Promise.all([health.claimCheck(target), health.claimCheck(target)]);
    assert.deepEqual([a.kind, b.kind].sort(), ['claimed', 'wait']);
    assert.equal((await health.probe(target)).nextCheckAt, clock.t + 4000);
    clock.t += 4000;
    assert.equal((await health.probe(target)).nextCheckAt, clock.t + 4000, 'capped at maxMs');

    assert.equal(await health.reportSuccess(target), true);
    rec = (await health.get(target))!;
    assert.deepEqual([rec.state, rec.since, rec.failures, rec.nextCheckAt, rec.lastError], ['healthy', clock.t, 0, null, null]);
    await health.admit(target);
    assert.equal(await health.reportSuccess(target), false, 'nothing to clear');

    const listed = await health.list();
    assert.deepEqual(listed.map((r) => [r.target, r.state]), [[target, 'healthy']]);
    await health.forget(target);
    assert.equal(await health.get(target), null);
  });
});

describe('health-gated scheduling with real agents', () => {
  let redis: EmbeddedRedis;
  let d: { path: string; remove(): void };
  let tokenFile: string;
  let a: AgentProcess;
  let b: AgentProcess;
  const agentsToStop: AgentProcess[] = [];
  const savedTokenFile = process.env.FERRY_TOKEN_FILE;

  before(async () => {
    d = tempDir('health');
    mkdirSync(join(d.path, 'a', 'one'), { recursive: true });
    mkdirSync(join(d.path, 'b'));
    tokenFile = join(d.path, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    process.env.FERRY_TOKEN_FILE = tokenFile;
    redis = await startTestRedis();
    [a, b] = await Promise.all([startAgent(`dir:${d.path}/a`, tokenFile), startAgent(`dir:${d.path}/b`, tokenFile)]);
    agentsToStop.push(a, b);
  });

  after(async () => {
    closeRemoteClients();
    await Promise.all(agentsToStop.map((x) => stopProcess(x.child)));
    await redis?.stop();
    if (savedTokenFile === undefined) delete process.env.FERRY_TOKEN_FILE;
    else process.env.FERRY_TOKEN_FILE = savedTokenFile;
    d?.remove();
  });

  it('the receiving agent stopped mid-run and started again later: the run ends Completed, the waits counted no attempt', async () => {
    const prefix = `hg${process.pid}x${++seq}`;
    const metrics = new FerryMetrics();
    const conn = openRedis(redis.url);
    const health = new TargetHealth({ redis: conn, prefix, initialMs: 200, maxMs: 800, probeTimeoutMs: 1000 });
    const engine = new TestEngine(conn, {
      prefix, registry: replicationRegistry({ metrics, health }), metrics, logger: createLogger({ level: 'warn', pretty: false }),
    });
    engine.startWorkers({ watchdogIntervalMs: 500 });
    try {
      // four snapshots of one filesystem, 24 MiB more each: four steps of a noticeable time each
      const src = join(d.path, 'a');
      const sender = openEndpoint(`grpc://${a.target}/dir:${src}`);
      for (let i = 1; i <= 4; i++) {
        writeFileSync(join(src, 'one', `part${i}.bin`), randomBytes(24 * MiB));
        await sender.snapshot(['one'], `s${i}`);
      }
      const retry = { initialMs: 200, maxMs: 400, maxAttempts: 3 };
      const runId = await startReplication(engine, {
        sender: `grpc://${a.target}/dir:${src}`, receiver: `grpc://${b.target}/dir:${d.path}/b`, initial: 'all', concurrency: 1, retry,
      });
      const fsId = `${runId}.fs-0`;

      // stop the receiver once the first step is done: at least two steps are still to come
      const doneAtStop = await until('the first step to complete', async () => {
        const s = await engine.snapshotOf(fsId);
        return s && s.context.stepsDone >= 1 ? (s.context.stepsDone as number) : undefined;
      }, 60_000, 20);
      await stopProcess(b.child, 'SIGTERM');
      assert.ok(doneAtStop <= 2, `steps were still to come when the agent stopped (${doneAtStop} of 4 done)`);

      const down = await until('the receiver to be recorded unhealthy', async () => {
        const r = await health.get(b.target);
        return r?.state === 'unhealthy' ? r : undefined;
      }, 30_000, 20);
      // keep it down for several failed checks: longer than the retry policy allows failures (3 x 200 ms)
      const longDown = await until('several failed checks of the receiver', async () => {
        const r = await health.get(b.target);
        return r && r.state === 'unhealthy' && r.failures >= 6 ? r : undefined;
      }, 60_000, 50);
      assert.equal(longDown.since, down.since, 'unhealthy since the first failure');
      const waiting = await engine.snapshotOf(fsId);
      assert.equal(waiting?.status, 'active', 'the filesystem still waits, it did not give up');
      assert.ok((waiting?.context.attempt as number) < retry.maxAttempts, `attempts counted: ${waiting?.context.attempt}`);

      // `ferry status --json` shows the target and since when, while it is down
      const status = await ferry(['status', '--json', '--key-prefix', prefix], { REDIS_URL: redis.url });
      assert.equal(status.code, 0, status.err);
      const shown = JSON.parse(status.out.trim().split('\n').pop()!) as { runs: Array<{ id: string; state: string }>; unhealthyTargets: Array<{ target: string; since: string; failures: number; unhealthySeconds: number; lastError: string | null }> };
      const entry = shown.unhealthyTargets.find((t) => t.target === b.target);
      assert.ok(entry, JSON.stringify(shown.unhealthyTargets));
      assert.equal(entry.since, new Date(down.since).toISOString());
      assert.ok(entry.failures >= 6);
      assert.ok(entry.lastError);
      assert.equal(shown.runs.find((r) => r.id === runId)?.state !== undefined, true);
      assert.ok(!shown.unhealthyTargets.some((t) => t.target === a.target), 'the sender is healthy');
      const text = await ferry(['status', runId, '--key-prefix', prefix], { REDIS_URL: redis.url });
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, /unhealthy targets/);
      assert.match(text.out, new RegExp(`${b.target.replace(/\./g, '\\.')}\\s+${new Date(down.since).toISOString()}\\s+\\d+[smhd]`));

      // back on the same port: the run resumes by itself
      b = await startAgent(`dir:${d.path}/b`, tokenFile, b.port);
      agentsToStop.push(b);
      await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 120_000 });
      const report = (await runReport(engine, runId))!;
      assert.equal(report.state, 'Completed', JSON.stringify(report));
      assert.deepEqual(report.filesystems.map((f) => [f.name, f.state, f.stepsDone, f.stepsTotal, f.problem]), [['one', 'Completed', 4, 4, null]]);
      assert.deepEqual(hashTree(join(d.path, 'b', 'one')), hashTree(join(src, 'one')));

      const back = (await health.get(b.target))!;
      assert.equal(back.state, 'healthy');
      assert.ok(back.since > down.since, 'healthy again, since after it went down');
      assert.equal((await health.get(a.target))?.state, 'healthy');

      // the filesystem waited many times, more than its attempts allow failures, and never failed
      const log = (await engine.transitions.read('0', 10_000)).filter((e) => e.machineId === fsId);
      const waits = log.filter((e) => e.to === 'WorkingWait').length;
      assert.ok(waits > retry.maxAttempts, `waits: ${waits}`);
      assert.ok(!log.some((e) => e.to === 'PermanentError'));

      // Praefect's two histograms: every step was scheduled and started; the steps that moved data took time
      const text2 = await metrics.registry.metrics();
      assert.ok((sample(text2, 'ferry_replication_step_queue_wait_seconds_count', { type: 'full' }) ?? 0) >= 1);
      assert.ok((sample(text2, 'ferry_replication_step_queue_wait_seconds_count', { type: 'incremental' }) ?? 0) >= 3);
      assert.equal(sample(text2, 'ferry_replication_latency_seconds_count', { type: 'full' }), 1);
      const incremental = sample(text2, 'ferry_replication_latency_seconds_count', { type: 'incremental' }) ?? 0;
      // a step the stopping agent finished but could not answer is found done on retry: nothing sent then
      assert.ok(incremental >= 2 && incremental <= 3, `incremental steps timed: ${incremental}`);
      assert.ok((sample(text2, 'ferry_replication_latency_seconds_sum') ?? 0) > 0);
    } finally {
      await engine.close();
    }
  });

  it('ferry serve checks every agent: it finds one down and back without any work running; ferry_target_healthy says so', async () => {
    const prefix = `hs${process.pid}x${++seq}`;
    const conn = new Redis(redis.url);
    const health = new TargetHealth({ redis: conn, prefix });
    let served: ChildProcess | null = null;
    try {
      // two targets some work has used
      await health.admit(a.target);
      await health.admit(b.target);
      served = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--metrics', '127.0.0.1:0', '--health-interval-ms', '100', '--key-prefix', prefix], {
        env: { ...process.env, REDIS_URL: redis.url, FERRY_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      served.stdout!.on('data', (x) => (out += x));
      served.stderr!.on('data', (x) => (err += x));
      const url = await until('ferry serve to print its metrics address', () => /metrics on (http:\S+)/.exec(out)?.[1], 30_000);
      const gauge = async (target: string) => sample(await (await fetch(url)).text(), 'ferry_target_healthy', { target });
      assert.equal(await gauge(a.target), 1);
      assert.equal(await gauge(b.target), 1);

      await stopProcess(b.child, 'SIGTERM');
      await until('the checker to find the receiver down', async () => (await gauge(b.target)) === 0, 30_000);
      const rec = (await health.get(b.target)) as TargetHealthRecord;
      assert.equal(rec.state, 'unhealthy');
      assert.match(rec.lastError ?? '', /health check/);
      assert.equal(await gauge(a.target), 1);
      const status = await ferry(['status', '--key-prefix', prefix], { REDIS_URL: redis.url });
      assert.match(status.out, /unhealthy targets/);
      assert.ok(status.out.includes(b.target), status.out);
      assert.ok(!status.out.includes(a.target), status.out);

      b = await startAgent(`dir:${d.path}/b`, tokenFile, b.port);
      agentsToStop.push(b);
      await until('the checker to find the receiver back', async () => (await gauge(b.target)) === 1, 30_000);
      assert.equal((await health.get(b.target))?.state, 'healthy');
      assert.equal(served.exitCode, null, `ferry serve still runs: ${err}`);
    } finally {
      if (served) await stopProcess(served);
      conn.disconnect();
    }
  });

  it('a job whose sender agent is down waits to take its snapshot, counting no attempt, then snapshots and replicates', async () => {
    const prefix = `hj${process.pid}x${++seq}`;
    const metrics = new FerryMetrics();
    const conn = openRedis(redis.url);
    const health = new TargetHealth({ redis: conn, prefix, initialMs: 200, maxMs: 800, probeTimeoutMs: 1000 });
    const engine = new TestEngine(conn, {
      prefix, registry: mergeRegistries(replicationRegistry({ metrics, health }), jobRegistry({ health })), metrics,
      logger: createLogger({ level: 'warn', pretty: false }),
    });
    engine.startWorkers({ watchdogIntervalMs: 500 });
    const jobs = new JobStore(conn, prefix);
    try {
      const src = join(d.path, 'a');
      mkdirSync(join(src, 'two'));
      writeFileSync(join(src, 'two', 'file.bin'), randomBytes(64 * 1024));
      mkdirSync(join(d.path, 'c'));
      const retry = { initialMs: 200, maxMs: 400, maxAttempts: 2 };
      await jobs.put(validateJobSpec({
        name: 'snapshot-waits', sender: `grpc://${a.target}/dir:${src}`, receivers: [`dir:${d.path}/c`], filesystems: 'two', snapshotPrefix: 'auto', retry,
      }));

      await stopProcess(a.child, 'SIGTERM');
      const { runId: id } = await invokeJob(engine, jobs, 'snapshot-waits', Date.now());
      // down for several failed checks: longer than the retry policy allows failures (2 x 200 ms)
      await until('several failed checks of the sender', async () => {
        const r = await health.get(a.target);
        return r && r.state === 'unhealthy' && r.failures >= 6 ? r : undefined;
      }, 60_000, 50);
      const waiting = await engine.snapshotOf(id);
      assert.equal(waiting?.status, 'active', 'the invocation still waits, it did not give up');
      assert.ok((waiting?.context.attempt as number) < retry.maxAttempts, `attempts counted: ${waiting?.context.attempt}`);
      assert.match(String(waiting?.context.problem), /unhealthy|UNAVAILABLE|unreachable/i);

      a = await startAgent(`dir:${src}`, tokenFile, a.port);
      agentsToStop.push(a);
      const ended = await engine.waitFor(id, (r) => r.status !== 'active', { timeoutMs: 120_000 });
      const done = (await engine.snapshotOf(id))!;
      assert.equal(done.value, 'Completed', `${ended.status}: ${JSON.stringify(done.context.problem)}`);
      const taken = done.context.snapshotTaken as string;
      assert.match(taken, /^auto_\d{8}T\d{6}Z$/);
      assert.deepEqual(readdirSync(join(d.path, 'c', 'two')).sort(), ['file.bin']);
      assert.deepEqual(hashTree(join(d.path, 'c', 'two')), hashTree(join(src, 'two')));

      const log = (await engine.transitions.read('0', 10_000)).filter((e) => e.machineId === id);
      const waits = log.filter((e) => e.to === 'SnapshottingWait').length;
      assert.ok(waits > retry.maxAttempts, `waits: ${waits}`);
    } finally {
      await engine.close();
    }
  });
});
