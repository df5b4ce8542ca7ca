import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { FilesystemContext, FilesystemInput } from '../machines/filesystem.js';
import type { JobInput } from '../machines/job.js';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { mergeRegistries } from '../src/engine/merge-registries.js';
import { jobRegistry } from '../src/jobs/registry.js';
import { registerCommittedMetrics } from '../src/observability/committed-metrics.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationLagSeconds } from '../src/replication/committed-stats.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { startReplication } from '../src/replication/runs.js';
import { runReport } from '../src/replication/report.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { createLogger } from '../src/util/logger.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { captureLog, LEVEL } from './helpers/log-capture.js';
import { sample } from './helpers/metrics.js';
import { until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { fastRetry, tempDir } from './helpers/replication.js';
import { serve, stop, type Served } from './helpers/serve.js';

/** What `promtool check metrics` reports about prom-client's own default metrics (gauges named `_total`), and nothing else is allowed. */
const PROM_CLIENT_FINDINGS = [
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
];

let n = 0;
const uniquePrefix = (tag: string) => `${tag}${process.pid}x${++n}`;

/** An engine with the replication and job machines, and (unless `workers` is false) in-process workers. */
function engineFor(redisUrl: string, prefix: string, o: { workers?: boolean; logger?: ReturnType<typeof captureLog>['logger'] } = {}): TestEngine {
  const metrics = new FerryMetrics();
  const engine = openTestEngine(redisUrl, {
    prefix, metrics, registry: mergeRegistries(replicationRegistry({ metrics }), jobRegistry()),
    logger: o.logger ?? createLogger({ level: 'warn', pretty: false }),
  });
  if (o.workers !== false) engine.startWorkers({ watchdogIntervalMs: 200 });
  return engine;
}

/** Sender filesystems `names`, each with `snapshots` snapshots of a few hundred KiB of new data. */
async function senderWith(root: string, names: string[], snapshots: string[]): Promise<void> {
  const sender = createDirDriver(root);
  for (const name of snapshots) {
    for (const fs of names) {
      mkdirSync(join(root, fs), { recursive: true });
      writeFileSync(join(root, fs, `${name}.bin`), Buffer.alloc(300_000, `${fs}${name}`));
    }
    await sender.snapshot(names, name);
  }
}

function promtoolFindings(text: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
}

function promtoolMissing(): string | false {
  if (process.env.CI === 'true') return false;
  return spawnSync('promtool', ['--version']).error ? 'promtool is not installed (apt-get install prometheus)' : false;
}

describe('metrics: committed bytes, lag, last success, names, log levels', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('bytes committed before ferry serve restarts mid-run are counted; Node defaults unprefixed; promtool clean but for prom-client\'s own gauges', { skip: promtoolMissing() }, async () => {
    const d = tempDir('metrics-restart');
    const prefix = uniquePrefix('mr');
    const port = await freePort();
    let served: Served | null = null;
    // starts the run and reads state, without workers: only the serve processes work
    const engine = engineFor(redis.url, prefix, { workers: false });
    try {
      await senderWith(join(d.path, 's'), ['f0', 'f1', 'f2'], ['s1', 's2']);
      served = await serve(['--metrics', String(port), '--key-prefix', prefix], { REDIS_URL: redis.url });
      const runId = await startReplication(engine, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r`, concurrency: 1, retry: fastRetry });
      await until('a first completed step', async () => ((await engine.snapshotOf(`${runId}.fs-0`))?.context as FilesystemContext | undefined)?.stepsDone, 60_000);
      await stop(served);
      served = null;
      const committedBefore = (await Promise.all([0, 1, 2].map(async (i) => ((await engine.snapshotOf(`${runId}.fs-${i}`))?.context as FilesystemContext | undefined)?.bytes ?? 0)))
        .reduce((a, b) => a + b, 0);
      assert.ok(committedBefore > 0, 'steps were committed before the restart');

      served = await serve(['--metrics', String(port), '--key-prefix', prefix], { REDIS_URL: redis.url });
      await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 120_000 });
      const report = (await runReport(engine, runId))!;
      assert.equal(report.state, 'Completed', JSON.stringify(report));
      const total = report.filesystems.reduce((sum, f) => sum + f.bytes, 0);
      assert.ok(total >= 3 * 2 * 300_000, `bytes of the run: ${total}`);

      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.equal(sample(text, 'ferry_replicated_bytes_total'), total, 'every committed step, those before the restart included');
      for (const f of report.filesystems) assert.equal(sample(text, 'ferry_replicated_bytes_total', { filesystem: f.name }), f.bytes, f.name);
      assert.equal(sample(text, 'ferry_bytes_replicated_total'), undefined, 'the old name is gone');
      assert.ok((sample(text, 'process_cpu_seconds_total') ?? 0) > 0, 'Node defaults, unprefixed');
      assert.ok(sample(text, 'nodejs_heap_size_used_bytes') !== undefined);
      assert.doesNotMatch(text, /^ferry_node_/m);
      assert.match(text, /^# TYPE ferry_replication_step_queue_wait_seconds histogram$/m, 'queue wait under its own name');
      assert.doesNotMatch(text, /ferry_replication_delay_seconds/);
      assert.ok(sample(text, 'ferry_last_success_timestamp_seconds', { filesystem: 'f2' })! > 0);

      const findings = promtoolFindings(text);
      assert.deepEqual(findings.filter((l) => !PROM_CLIENT_FINDINGS.includes(l)), [], `promtool check metrics:\n${findings.join('\n')}`);
    } finally {
      if (served) await stop(served);
      await engine.close();
      d.remove();
    }
  });

  it('a job\'s run sets last success per job and per filesystem, and a replication lag of 0 once caught up', async () => {
    const d = tempDir('metrics-job');
    const engine = engineFor(redis.url, uniquePrefix('mj'));
    try {
      await senderWith(join(d.path, 's'), ['a', 'b'], ['s1', 's2']);
      const receiver = `dir:${d.path}/r`;
      const input: JobInput = {
        runId: 'nightly.20261203T000000000Z', job: 'nightly', sender: `dir:${d.path}/s`, receivers: [receiver], snapshot: null,
        replication: { initial: 'all', concurrency: 2, retry: fastRetry },
      };
      const t0 = Date.now() / 1000;
      await engine.start('job', input.runId, input);
      const rec = await engine.waitFor(input.runId, (r) => r.status !== 'active', { timeoutMs: 60_000 });
      const t1 = Date.now() / 1000;
      assert.equal(rec.value, 'Completed');

      const registry = new Registry();
      registerCommittedMetrics(registry, engine);
      const text = await registry.metrics();
      const jobLine = text.split('\n').find((l) => l.startsWith('ferry_last_success_timestamp_seconds{ferry_job="nightly"} '));
      assert.ok(jobLine, `a series for the job itself:\n${text}`);
      const jobAt = Number(jobLine.split(' ')[1]);
      assert.ok(jobAt >= t0 && jobAt <= t1, `job success at ${jobAt}, run between ${t0} and ${t1}`);
      for (const fs of ['a', 'b']) {
        const where = { ferry_job: 'nightly', receiver, filesystem: fs };
        const at = sample(text, 'ferry_last_success_timestamp_seconds', where)!;
        assert.ok(at >= t0 && at <= jobAt, `${fs} succeeded at ${at}, before its job completed (${jobAt})`);
        assert.equal(sample(text, 'ferry_replication_lag_seconds', where), 0, `${fs} caught up`);
      }
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('the lag of a planned filesystem is the sender\'s newest version\'s age relative to the receiver\'s newest', async () => {
    const d = tempDir('metrics-lag');
    // no workers: the machine is created with its plan and nothing runs
    const engine = engineFor(redis.url, uniquePrefix('ml'), { workers: false });
    try {
      await senderWith(join(d.path, 's'), ['a'], ['s1']);
      await new Promise((r) => setTimeout(r, 20)); // two creation times that differ
      await senderWith(join(d.path, 's'), ['a'], ['s2', 's3']);
      const [s1, s2, s3] = await createDirDriver(join(d.path, 's')).listVersions('a');
      const receiver = `dir:${d.path}/r`;
      const input: FilesystemInput = {
        runId: 'lag-run', job: 'hourly', name: 'a', sender: `dir:${d.path}/s`, receiver, retry: fastRetry,
        steps: [{ from: s1, to: s2 }, { from: s2, to: s3 }],
      };
      await engine.start('filesystem', 'lag-run.fs-0', input);
      const expected = (Date.parse(s3.creation!) - Date.parse(s1.creation!)) / 1000;
      assert.ok(expected > 0);
      const registry = new Registry();
      registerCommittedMetrics(registry, engine);
      assert.equal(sample(await registry.metrics(), 'ferry_replication_lag_seconds', { ferry_job: 'hourly', receiver, filesystem: 'a' }), expected);

      // the same definition after each step (pure): the receiver's newest moves to the step's `to`
      const ctx = { steps: input.steps, problem: null, stepsDone: 1 } as unknown as FilesystemContext;
      assert.equal(replicationLagSeconds(ctx), (Date.parse(s3.creation!) - Date.parse(s2.creation!)) / 1000);
      assert.equal(replicationLagSeconds({ ...ctx, stepsDone: 2 }), 0);
      assert.equal(replicationLagSeconds({ ...ctx, steps: [{ from: null, to: s3 }], stepsDone: 0 }), null, 'an empty receiver: unknown');
      assert.equal(replicationLagSeconds({ ...ctx, steps: [], stepsDone: 0 }), 0, 'nothing to send');
      assert.equal(replicationLagSeconds({ ...ctx, steps: [], stepsDone: 0, problem: 'diverged' }), null, 'a conflict: unknown');
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('PermanentError of a filesystem, its run and its job is logged at warn, with the problem', async () => {
    const d = tempDir('metrics-warn');
    const { logger, lines } = captureLog('warn');
    const engine = engineFor(redis.url, uniquePrefix('mw'), { logger });
    try {
      await senderWith(join(d.path, 's'), ['a'], ['s1']);
      // the receiver has a version of its own: no common version, a conflict
      await senderWith(join(d.path, 'r'), ['a'], ['other']);
      const input: JobInput = {
        runId: 'broken.20261203T000000000Z', job: 'broken', sender: `dir:${d.path}/s`, receivers: [`dir:${d.path}/r`], snapshot: null,
        replication: { initial: 'most_recent', concurrency: 1, retry: fastRetry },
      };
      await engine.start('job', input.runId, input);
      await engine.waitFor(input.runId, (r) => r.status !== 'active', { timeoutMs: 60_000 });
      await until('the last warning', () => lines.some((l) => l.machineKind === 'job'), 10_000);
      for (const kind of ['filesystem', 'replication', 'job']) {
        const line = lines.find((l) => l.machineKind === kind && l.to === 'PermanentError');
        assert.ok(line, `${kind} PermanentError logged: ${JSON.stringify(lines)}`);
        assert.equal(line.level, LEVEL.warn);
        assert.match(String(line.problem), kind === 'job' ? /receiver/ : /common|diverged|conflict/i);
      }
    } finally {
      await engine.close();
      d.remove();
    }
  });
});
