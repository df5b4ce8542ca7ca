import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { mergeRegistries } from '../src/engine/merge-registries.js';
import { invokeJob } from '../src/jobs/invoke.js';
import { jobRegistry } from '../src/jobs/registry.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { validateJobSpec } from '../src/jobs/spec.js';
import { JobStore } from '../src/jobs/store.js';
import { createLogger } from '../src/util/logger.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { LocalOrchestrator } from '../src/service/local-orchestrator.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';
import { DEFAULT_REPLICATION_CONCURRENCY } from '../machines/replication-defaults.js';

describe('job specs', () => {
  it('names the field of every problem', () => {
    const ok = { name: 'j', sender: 'dir:/s', receivers: ['dir:/r'] };
    const field = (raw: object) => {
      try {
        validateJobSpec(raw);
        return 'accepted';
      } catch (err) {
        return /^([a-z_.[\]0-9]+):/.exec((err as Error).message)?.[1] ?? (err as Error).message;
      }
    };
    assert.equal(field(ok), 'accepted');
    assert.equal(field({ ...ok, name: 'a b' }), 'name');
    assert.equal(field({ ...ok, name: '' }), 'name');
    assert.equal(field({ ...ok, sender: '' }), 'sender');
    assert.equal(field({ ...ok, receivers: [] }), 'receivers');
    assert.equal(field({ ...ok, receivers: ['zfs:p/x'] }), 'receivers[0]');
    assert.equal(field({ ...ok, receivers: ['dir:/r', 'dir:/s'] }), 'receivers[1]');
    assert.equal(field({ ...ok, schedule: { everyMs: 10 } }), 'schedule.every_ms');
    assert.equal(field({ ...ok, schedule: { cron: 'every day' } }), 'schedule.cron');
    assert.equal(field({ ...ok, schedule: { cron: '* * * * *', timezone: 'Mars/Olympus' } }), 'schedule.timezone');
    assert.equal(field({ ...ok, snapshotPrefix: 'a b' }), 'snapshot_prefix');
    assert.equal(field({ ...ok, includeSnapshots: '(' }), 'include_snapshots');
    const spec = validateJobSpec({ ...ok, receivers: ['dir:/r', 'dir:/r'] });
    assert.deepEqual(spec.receivers, ['dir:/r'], 'duplicates dropped');
    assert.equal(spec.initial, 'most_recent');
    assert.equal(spec.concurrency, DEFAULT_REPLICATION_CONCURRENCY);
  });
});

describe('jobs through the engine: schedules, fan-out, snapshots, signals', () => {
  let redis: EmbeddedRedis;
  let engine: TestEngine;
  let jobs: JobStore;
  let scheduler: JobScheduler;
  let api: LocalOrchestrator;
  let d: { path: string; remove(): void };
  const savedToken = process.env.FERRY_TOKEN_FILE;

  before(async () => {
    d = tempDir('jobs');
    writeFileSync(join(d.path, 'token'), 'jobs-test-token\n');
    process.env.FERRY_TOKEN_FILE = join(d.path, 'token');
    redis = await startTestRedis();
    const metrics = new FerryMetrics();
    const log = createLogger({ level: 'warn', pretty: false });
    const prefix = `jobs${process.pid}`;
    engine = openTestEngine(redis.url, { prefix, registry: mergeRegistries(replicationRegistry({ metrics }), jobRegistry()), metrics, logger: log });
    engine.startWorkers({ watchdogIntervalMs: 500 });
    jobs = new JobStore(engine.connection, prefix);
    scheduler = new JobScheduler(engine.connection, prefix, log);
    scheduler.startWorker((name, at) => invokeJob(engine, jobs, name, at));
    api = new LocalOrchestrator({ engine, jobs, scheduler, metrics });
  });

  after(async () => {
    await scheduler?.close();
    await engine?.close();
    await redis?.stop();
    d?.remove();
    if (savedToken === undefined) delete process.env.FERRY_TOKEN_FILE;
    else process.env.FERRY_TOKEN_FILE = savedToken;
  });

  it('a scheduled job snapshots the sender and replicates to every receiver, again at each firing', async () => {
    for (const n of ['s/a', 's/b', 'r1', 'r2']) mkdirSync(join(d.path, n), { recursive: true });
    writeFileSync(join(d.path, 's/a/one.txt'), 'one');
    writeFileSync(join(d.path, 's/b/two.txt'), 'two');
    const [s, r1, r2] = ['s', 'r1', 'r2'].map((n) => `dir:${join(d.path, n)}`);
    const view = await api.createJob({ name: 'every-second', sender: s, receivers: [r1, r2], schedule: { everyMs: 1000 }, snapshotPrefix: 'auto' });
    assert.equal(view.spec.schedule && 'everyMs' in view.spec.schedule && view.spec.schedule.everyMs, 1000);
    await assert.rejects(api.createJob({ name: 'every-second', sender: s, receivers: [r1] }), (e: Error & { code?: string }) => e.code === 'ALREADY_EXISTS');

    // two completed invocations: the schedule keeps firing
    const done = await until('two completed invocations', async () => {
      const runs = await api.listRuns({ job: 'every-second', limit: 10 });
      const completed = runs.filter((r) => r.state === 'Completed');
      return completed.length >= 2 ? completed : undefined;
    }, 30_000, 100);
    await api.deleteJob('every-second');
    assert.equal(await scheduler.queue.getJobScheduler('every-second'), undefined, 'the schedule is gone with the job');
    await assert.rejects(api.getJob('every-second'), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');

    const first = done[done.length - 1];
    assert.equal(first.kind, 'job');
    assert.match(first.snapshot ?? '', /^auto_\d{8}T\d{6}Z$/);
    assert.deepEqual(first.replications.map((r) => [r.receiver, r.state]), [[r1, 'Completed'], [r2, 'Completed']]);
    assert.equal(first.replications[0].id, `${first.id}.to-0`);
    assert.deepEqual(first.replications[1].filesystems.map((f) => f.name), ['a', 'b']);
    // every snapshot the invocations took is on both receivers
    const sender = createDirDriver(join(d.path, 's'));
    for (const r of [r1, r2]) {
      const receiver = createDirDriver(r.slice('dir:'.length));
      for (const fs of ['a', 'b']) {
        const sent = (await sender.listVersions(fs)).map((v) => v.guid);
        const got = (await receiver.listVersions(fs)).map((v) => v.guid);
        assert.ok(sent.length >= 2, 'a snapshot per invocation');
        for (const run of done) assert.ok((await receiver.listVersions(fs)).some((v) => v.name === run.snapshot), `${r} ${fs} has ${run.snapshot}`);
        assert.deepEqual(got, sent.slice(0, got.length));
      }
    }
    // the same firing twice makes one invocation
    const again = await invokeJob(engine, jobs, 'every-second', Date.parse('2026-01-01T00:00:00Z')).catch((e: Error & { code?: string }) => e.code);
    assert.equal(again, 'NOT_FOUND', 'a deleted job is not invoked');
  });

  it('every run a job lists has its machine, from the moment it is listed (job show lastRun, then status RUN)', async () => {
    for (const n of ['race-s', 'race-r']) mkdirSync(join(d.path, n), { recursive: true });
    await jobs.put(validateJobSpec({ name: 'race', sender: `dir:${join(d.path, 'race-s')}`, receivers: [`dir:${join(d.path, 'race-r')}`] }));
    // the engine as invokeJob sees it, looking at the job's runs the moment the machine is created
    const unbacked: string[] = [];
    const watched = Object.create(engine, {
      start: {
        value: async (kind: string, id: string, input: unknown) => {
          for (const run of await jobs.runs('race', 10)) if (!(await engine.get(run))) unbacked.push(run);
          return engine.start(kind, id, input);
        },
      },
    }) as TestEngine;
    const { runId, started } = await invokeJob(watched, jobs, 'race', Date.parse('2026-02-03T04:05:06Z'));
    assert.equal(started, true);
    assert.deepEqual(unbacked, [], 'a run listed before its machine existed');
    assert.equal((await api.getJob('race')).lastRun, runId);
    assert.equal((await api.getRun(runId)).id, runId);
    await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 30_000 });
    await api.deleteJob('race');
  });

  it('wakeup cuts a retry wait short and reset ends the invocation, as zrepl signals do', async () => {
    const closed = await freePort();
    mkdirSync(join(d.path, 'r3'));
    await api.createJob({
      name: 'unreachable', sender: `grpc://127.0.0.1:${closed}/dir:/nowhere`, receivers: [`dir:${join(d.path, 'r3')}`],
      retry: { initialMs: 600_000, maxMs: 600_000, maxAttempts: 0 },
    });
    const woke = await api.signalJob('unreachable', 'wakeup');
    assert.match(woke.outcome, /^started invocation unreachable\./);
    const runId = woke.machines[0];
    const rep = `${runId}.to-0`;
    await until('planning to fail and wait', async () => (await api.getRun(rep)).state === 'PlanningError', 20_000, 50);
    const run = await api.runJob('unreachable');
    assert.deepEqual(run, { runId, started: false }, 'invocations do not overlap');

    const wake = await api.signalJob('unreachable', 'wakeup');
    assert.ok(wake.machines.includes(rep));
    const log = async () => (await engine.transitions.read('0', 10_000)).filter((e) => e.machineId === rep);
    await until('planning again on the wakeup', async () => (await log()).some((e) => e.from === 'PlanningError' && e.to === 'Planning' && e.event === 'ferry.wakeup'), 10_000, 50);

    const reset = await api.signalJob('unreachable', 'reset');
    assert.deepEqual(new Set(reset.machines), new Set([runId, rep]));
    // both were signalled: each machine's drain applies the reset in its own time
    for (const id of [runId, rep]) await engine.waitFor(id, (r) => r.status !== 'active', { timeoutMs: 10_000 });
    const ended = await api.getRun(runId);
    assert.equal(ended.state, 'PermanentError');
    assert.match(ended.problem ?? '', /reset by operator/);
    assert.equal(ended.replications[0].state, 'PermanentError');
    const nothing = await api.signalJob('unreachable', 'reset');
    assert.match(nothing.outcome, /no active invocation/);
    await assert.rejects(api.signalJob('unreachable', 'stop'), (e: Error) => /^signal: /.test(e.message));
  });
});
