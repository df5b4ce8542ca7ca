import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Step } from '../machines/filesystem.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { mergeRegistries } from '../src/engine/merge-registries.js';
import { invokeJob } from '../src/jobs/invoke.js';
import { parseKeepRulesText } from '../src/jobs/keep-rules-text.js';
import { pruneReport, startPruning } from '../src/jobs/prune.js';
import { jobRegistry } from '../src/jobs/registry.js';
import { validateJobSpec, type JobSpecInput } from '../src/jobs/spec.js';
import { JobStore } from '../src/jobs/store.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { checkConfigText } from '../src/config/check.js';
import { jobConfigOf } from '../src/config/export.js';
import { jobSpecFromMsg, jobSpecToMsg, runFromMsg, runToMsg } from '../src/api/orchestrator-messages.js';
import { LocalOrchestrator } from '../src/service/local-orchestrator.js';
import type { JobScheduler } from '../src/jobs/scheduler.js';
import { destroyPlanned, newestCommonVersion } from '../src/replication/pruning-effects.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { createLogger } from '../src/util/logger.js';
import { startTestRedis } from './helpers/redis.js';
import { assertRetentionSeries } from './helpers/pruning.js';
import { fastRetry, tempDir } from './helpers/replication.js';

describe('retention in job specs', () => {
  it('reads the compact and the JSON rule syntax', () => {
    assert.deepEqual(parseKeepRulesText('not_replicated, last_n=10, grid=1x1h(keep=all) | 24x1h | 14x1d, regex=^manual_, !regex=^tmp_', '--keep-sender'), [
      { type: 'not_replicated' },
      { type: 'last_n', count: 10 },
      { type: 'grid', grid: '1x1h(keep=all) | 24x1h | 14x1d' },
      { type: 'regex', regex: '^manual_' },
      { type: 'regex', regex: '^tmp_', negate: true },
    ]);
    assert.deepEqual(parseKeepRulesText('last_n=3:^auto_', '--keep-sender'), [{ type: 'last_n', count: 3, regex: '^auto_' }]);
    assert.deepEqual(parseKeepRulesText('[{"type":"last_n","count":2}]', '--keep-sender'), [{ type: 'last_n', count: 2 }]);
    assert.throws(() => parseKeepRulesText('keep_all', '--keep-receivers'), { message: /^--keep-receivers: "keep_all"/ });
  });

  it('checks the policy with the spec, naming the field, and stores none when no side has rules', () => {
    const ok = { name: 'j', sender: 'dir:/s', receivers: ['dir:/r'] };
    const spec = validateJobSpec({ ...ok, retention: { sender: [{ type: 'last_n', count: 2 }] } });
    assert.deepEqual(spec.retention, { sender: [{ type: 'last_n', count: 2 }], receivers: [] });
    assert.equal(validateJobSpec({ ...ok, retention: { sender: [], receivers: [] } }).retention, undefined);
    assert.equal(validateJobSpec(ok).retention, undefined);
    assert.throws(() => validateJobSpec({ ...ok, retention: { receivers: [{ type: 'last_n', count: 0 }] } }), { message: /^retention\.receivers\[0\]\.count:/ });
    assert.throws(() => validateJobSpec({ ...ok, retention: { sender: [{ type: 'grid', grid: '24x1q' }] } }), { message: /^retention\.sender\[0\]\.grid:/ });
  });

  it('carries the policy through the gRPC JobSpec message and back', () => {
    const spec = validateJobSpec({
      name: 'j', sender: 'dir:/s', receivers: ['dir:/r'],
      retention: {
        sender: [{ type: 'not_replicated' }, { type: 'last_n', count: 3, regex: '^auto_' }, { type: 'grid', grid: '1x1h(keep=all) | 24x1h' }, { type: 'regex', regex: '^tmp_', negate: true }],
        receivers: [{ type: 'last_n', count: 10 }],
      },
    });
    assert.deepEqual(validateJobSpec(jobSpecFromMsg(jobSpecToMsg(spec) as never)).retention, spec.retention);
    assert.equal(validateJobSpec(jobSpecFromMsg(jobSpecToMsg(validateJobSpec({ name: 'j', sender: 'dir:/s', receivers: ['dir:/r'] })) as never)).retention, undefined);
  });

  it('reads the policy from the config file, reports a bad rule at its line and path, and exports it', () => {
    const file = (grid: string) => `
jobs:
  j:
    sender: dir:/s
    receivers: [dir:/r]
    snapshot_prefix: auto
    retention:
      sender:
        - { type: not_replicated }
        - { type: grid, grid: "${grid}" }
      receivers:
        - { type: last_n, count: 10 }
`;
    const ok = checkConfigText(file('1x1h(keep=all) | 24x1h'));
    assert.deepEqual(ok.problems, []);
    const [spec] = ok.desired!.jobs;
    assert.deepEqual(spec.retention, { sender: [{ type: 'not_replicated' }, { type: 'grid', grid: '1x1h(keep=all) | 24x1h' }], receivers: [{ type: 'last_n', count: 10 }] });
    assert.deepEqual(jobConfigOf(spec, {}).retention, spec.retention);
    const bad = checkConfigText(file('24x1q'));
    assert.equal(bad.desired, null);
    assert.deepEqual(bad.problems.map((p) => [p.line, p.path]), [[10, 'jobs.j.retention.sender[1].grid']]);
    const unknown = checkConfigText(file('1x1h').replace('type: not_replicated', 'type: not_replicated, keep: 3'));
    assert.match(unknown.problems[0]?.path ?? '', /^jobs\.j\.retention\.sender\[0\]/);
  });

  it('finds the newest common version by guid, not by name', () => {
    const v = (name: string, guid: string, createtxg: number) => ({ name, guid, createtxg });
    assert.deepEqual(newestCommonVersion([v('a', '1', 1), v('b', '2', 2), v('c', '3', 3)], [v('a', '1', 7), v('c', 'x', 8), v('b', '2', 9)]), v('b', '2', 2));
    assert.equal(newestCommonVersion([v('a', '1', 1)], [v('a', '9', 1)]), null);
  });
});

describe('pruning machines on dir endpoints', () => {
  let redis: EmbeddedRedis;
  let engine: TestEngine;
  let jobs: JobStore;
  let metrics: FerryMetrics;
  let d: { path: string; remove(): void };
  /** a firing clock for invocation ids and snapshot names: one minute per firing */
  let clock = Date.parse('2026-03-01T00:00:00Z');

  before(async () => {
    d = tempDir('pruning');
    redis = await startTestRedis();
    metrics = new FerryMetrics();
    const prefix = `prune${process.pid}`;
    engine = openTestEngine(redis.url, {
      prefix, registry: mergeRegistries(replicationRegistry({ metrics }), jobRegistry()), metrics, logger: createLogger({ level: 'warn', pretty: false }),
    });
    engine.startWorkers({ watchdogIntervalMs: 500 });
    jobs = new JobStore(engine.connection, prefix);
  });

  after(async () => {
    await engine?.close();
    await redis?.stop();
    d?.remove();
  });

  /** a sender with filesystems a and b, receivers r1 and r2, all empty; the job stored with `extra` (null: not stored) */
  async function setup(name: string, extra: Partial<JobSpecInput> | null) {
    const root = join(d.path, name);
    for (const n of ['s/a', 's/b', 'r1', 'r2']) mkdirSync(join(root, n), { recursive: true });
    writeFileSync(join(root, 's/a/one.txt'), 'one');
    writeFileSync(join(root, 's/b/two.txt'), 'two');
    const [sender, r1, r2] = ['s', 'r1', 'r2'].map((n) => createDirDriver(join(root, n)));
    if (extra) await jobs.put(validateJobSpec({ name, sender: sender.endpoint, receivers: [r1.endpoint, r2.endpoint], snapshotPrefix: 'auto', retry: fastRetry, ...extra }));
    return { sender, receivers: [r1, r2] };
  }

  async function fire(job: string): Promise<string> {
    clock += 60_000;
    const { runId, started } = await invokeJob(engine, jobs, job, clock);
    assert.ok(started);
    await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 60_000 });
    return runId;
  }

  const names = async (driver: StorageDriver, fs: string) => (await driver.listVersions(fs)).map((v) => v.name);
  const stepsOf = async (runId: string, receiver: number, fs: number): Promise<Step[]> =>
    (await engine.snapshotOf(`${runId}.to-${receiver}.fs-${fs}`))!.context.steps as Step[];

  it('after every firing each side holds what its rules keep, other prefixes untouched, and every next run is incremental', async () => {
    const { sender, receivers } = await setup('lastn', null);
    const { runs } = await assertRetentionSeries(engine, jobs, { job: 'lastn', sender, receivers, firings: 5, senderKeep: 2, receiverKeep: 3, foreign: { filesystem: 'a', name: 'manual_1' } });
    // ferry status: the invocation with its prunings, also through the gRPC message
    const api = new LocalOrchestrator({ engine, jobs, scheduler: {} as JobScheduler });
    const view = await api.getRun(runs[4]);
    assert.deepEqual(view.prunings?.map((p) => [p.side, p.state, p.destroyed, p.kept]), [['sender', 'Done', 2, 5], ['receiver', 'Done', 2, 6], ['receiver', 'Done', 2, 6]]);
    assert.deepEqual(runFromMsg(runToMsg(view) as never).prunings, view.prunings);
    const text = await metrics.registry.metrics();
    assert.match(text, /ferry_pruned_snapshots_total\{ferry_job="lastn",side="sender"\} 6/);
    assert.match(text, /ferry_pruned_snapshots_total\{ferry_job="lastn",side="receiver"\} 8/);
    // one series per pair and filesystem, for the version protected now (the older ones gone)
    const newest = (await names(sender, 'a')).filter((n) => n.startsWith('auto_')).pop()!;
    const protectedSeries = text.split('\n').filter((l) => l.startsWith('ferry_protected_version_info{ferry_job="lastn"'));
    assert.equal(protectedSeries.length, 4, protectedSeries.join('\n'));
    assert.ok(protectedSeries.includes(`ferry_protected_version_info{ferry_job="lastn",sender="${sender.endpoint}",receiver="${receivers[0].endpoint}",filesystem="a",snapshot="${newest}"} 1`), protectedSeries.join('\n'));
  });

  it('never destroys the newest common version of a pair, even when no rule keeps it', async () => {
    const none = [{ type: 'regex', regex: '^keep-nothing$' }];
    const { sender, receivers } = await setup('protect', { retention: { sender: none, receivers: none } });
    const runs = [await fire('protect'), await fire('protect'), await fire('protect')];
    const taken = await Promise.all(runs.map(async (r) => (await engine.snapshotOf(r))!.context.snapshotTaken as string));
    for (const fs of ['a', 'b']) {
      assert.deepEqual(await names(sender, fs), [taken[2]]);
      for (const r of receivers) assert.deepEqual(await names(r, fs), [taken[2]]);
    }
    const report = (await pruneReport(engine, runs[2]))!;
    const kept = report.prunings[0].kept.find((k) => k.filesystem === 'a')!;
    assert.match(kept.reasons.join('; '), /protected: newest common version with receiver .*r1.*; newest common version with receiver .*r2/);
    assert.match(report.prunings[1].kept[0].reasons.join('; '), /protected: newest common version with sender/);
    for (let i = 1; i < runs.length; i++) {
      assert.deepEqual((await stepsOf(runs[i], 0, 0)).map((s) => s.from?.name ?? null), [taken[i - 1]], 'incremental, never a full resend');
    }
  });

  it('ferry prune --dry-run reports what it would destroy and destroys nothing; without it, destroys that', async () => {
    const { sender, receivers } = await setup('ondemand', { retention: { sender: [{ type: 'last_n', count: 1 }], receivers: [{ type: 'last_n', count: 5 }] } });
    await fire('ondemand');
    const extra = ['auto_x1', 'auto_x2', 'auto_x3'];
    for (const n of extra) await sender.snapshot(['a', 'b'], n);
    const before = { a: await names(sender, 'a'), b: await names(sender, 'b'), r: await names(receivers[0], 'a') };

    clock += 60_000;
    const dry = await startPruning(engine, jobs, 'ondemand', { dryRun: true, at: clock });
    await engine.waitFor(dry, (r) => r.status !== 'active', { timeoutMs: 30_000 });
    const plan = (await pruneReport(engine, dry))!;
    assert.equal(plan.state, 'Completed', plan.problem ?? '');
    assert.equal((await engine.snapshotOf(dry))!.context.snapshotTaken, null, 'a prune takes no snapshot');
    const s = plan.prunings[0];
    assert.equal(s.dryRun, true);
    // the newest (auto_x3) is kept by last_n=1, the replicated one is protected; the rest would go
    assert.deepEqual(s.destroyed.map((x) => `${x.filesystem}@${x.name}`).sort(), ['a@auto_x1', 'a@auto_x2', 'b@auto_x1', 'b@auto_x2']);
    assert.deepEqual({ a: await names(sender, 'a'), b: await names(sender, 'b'), r: await names(receivers[0], 'a') }, before, 'a dry run changes nothing');

    clock += 60_000;
    const real = await startPruning(engine, jobs, 'ondemand', { at: clock });
    await engine.waitFor(real, (r) => r.status !== 'active', { timeoutMs: 30_000 });
    const done = (await pruneReport(engine, real))!;
    assert.equal(done.state, 'Completed', done.problem ?? '');
    assert.deepEqual(done.prunings[0].destroyed.map((x) => `${x.filesystem}@${x.name}`).sort(), ['a@auto_x1', 'a@auto_x2', 'b@auto_x1', 'b@auto_x2']);
    assert.deepEqual(await names(sender, 'a'), [before.a[0], 'auto_x3']);
    assert.deepEqual(await names(receivers[0], 'a'), before.r, 'the receiver keeps its 1 version (last_n=5)');
  });

  it('a destroy run again (its worker died after destroying) finds the snapshot gone and fails nothing', async () => {
    const root = join(d.path, 'again');
    mkdirSync(join(root, 'a'), { recursive: true });
    const driver = createDirDriver(root);
    await driver.snapshot(['a'], 'auto_1');
    await driver.snapshot(['a'], 'auto_2');
    const input = { runId: 'r', job: 'j', side: 'sender' as const, endpoint: driver.endpoint, filesystem: 'a', name: 'auto_1', index: 0, total: 1 };
    assert.deepEqual(await destroyPlanned(input), { outcome: 'destroyed' });
    assert.deepEqual(await destroyPlanned(input), { outcome: 'gone' });
    assert.deepEqual(await names(driver, 'a'), ['auto_2'], 'only the named snapshot went');
  });

  it('prunes after a failed replication too; a receiver with nothing received yet has nothing to prune and does not fail', async () => {
    const root = join(d.path, 'failed');
    mkdirSync(join(root, 's/a'), { recursive: true });
    const sender = createDirDriver(join(root, 's'));
    await sender.snapshot(['a'], 'auto_1');
    await sender.snapshot(['a'], 'auto_2');
    // the receiver root does not exist and the initial policy refuses: the replication fails
    await jobs.put(validateJobSpec({
      name: 'failed', sender: sender.endpoint, receivers: [`dir:${join(root, 'missing')}`], initial: 'fail', retry: fastRetry, snapshotPrefix: 'auto',
      retention: { sender: [{ type: 'last_n', count: 1 }], receivers: [{ type: 'last_n', count: 1 }] },
    }));
    const runId = await fire('failed');
    const report = (await pruneReport(engine, runId))!;
    assert.equal(report.state, 'PermanentError');
    assert.match(report.problem ?? '', /1 of 1 receivers failed/);
    assert.doesNotMatch(report.problem ?? '', /prunings failed/);
    assert.deepEqual(report.prunings.map((p) => [p.side, p.state, p.destroyed.length]), [['sender', 'Done', 2], ['receiver', 'Done', 0]]);
    // not_replicated is not among the sender's rules: last_n=1 leaves the newest
    assert.equal((await names(sender, 'a')).length, 1);
  });

  it('refuses a job without a retention policy, naming the flags', async () => {
    await setup('nopolicy', {});
    await assert.rejects(startPruning(engine, jobs, 'nopolicy'), (e: Error & { code?: string }) => e.code === 'NO_RETENTION' && /--keep-sender/.test(e.message));
  });
});
