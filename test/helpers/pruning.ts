import assert from 'node:assert/strict';
import type { Step } from '../../machines/filesystem.js';
import type { FilesystemEntry } from '../../machines/replication.js';
import { mergeRegistries } from '../../src/engine/merge-registries.js';
import { invokeJob } from '../../src/jobs/invoke.js';
import { pruneReport, startPruning } from '../../src/jobs/prune.js';
import { jobRegistry } from '../../src/jobs/registry.js';
import { validateJobSpec } from '../../src/jobs/spec.js';
import { JobStore } from '../../src/jobs/store.js';
import { FerryMetrics } from '../../src/observability/metrics.js';
import { replicationRegistry } from '../../src/replication/registry.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { createLogger } from '../../src/util/logger.js';
import { openTestEngine, type TestEngine } from './engine.js';
import { fastRetry } from './replication.js';

let seq = 0;

/** An engine with the job and replication machines (pruning included) and in-process workers, with its job store. */
export function jobsEngine(redisUrl: string, metrics = new FerryMetrics()): { engine: TestEngine; jobs: JobStore } {
  const prefix = `prn${process.pid}x${++seq}`;
  const engine = openTestEngine(redisUrl, {
    prefix, registry: mergeRegistries(replicationRegistry({ metrics }), jobRegistry()), metrics, logger: createLogger({ level: 'warn', pretty: false }),
  });
  engine.startWorkers({ watchdogIntervalMs: 500 });
  return { engine, jobs: new JobStore(engine.connection, prefix) };
}

export interface RetentionSeries {
  /** the job's name */
  job: string;
  sender: StorageDriver;
  receivers: StorageDriver[];
  firings: number;
  /** last_n of each side */
  senderKeep: number;
  receiverKeep: number;
  /** a snapshot of another prefix taken on the sender first: never pruned */
  foreign?: { filesystem: string; name: string };
  /** called before each firing (e.g. to change the data) */
  beforeFiring?: (i: number) => Promise<void>;
}

/**
 * Issue 13's scenario on any driver: a job snapshotting with prefix `auto` and pruning by last_n on
 * each side is invoked `firings` times (one minute apart on a fake firing clock). Every invocation
 * must complete; afterwards each side holds exactly what its rules keep (and the foreign snapshot),
 * every run after the first sent incrementally from the previous run's snapshot (the base was never
 * pruned), and a dry-run prune destroys nothing. Returns the invocation ids and the snapshots taken.
 */
export async function assertRetentionSeries(engine: TestEngine, jobs: JobStore, o: RetentionSeries): Promise<{ runs: string[]; taken: string[] }> {
  await jobs.put(validateJobSpec({
    name: o.job, sender: o.sender.endpoint, receivers: o.receivers.map((r) => r.endpoint), snapshotPrefix: 'auto', retry: fastRetry,
    retention: { sender: [{ type: 'last_n', count: o.senderKeep }], receivers: [{ type: 'last_n', count: o.receiverKeep }] },
  }));
  if (o.foreign) await o.sender.snapshot([o.foreign.filesystem], o.foreign.name);
  const filesystems = await o.sender.listFilesystems();
  let at = Date.parse('2026-03-01T00:00:00Z');
  const runs: string[] = [];
  const taken: string[] = [];
  for (let i = 0; i < o.firings; i++) {
    await o.beforeFiring?.(i);
    at += 60_000;
    const { runId, started } = await invokeJob(engine, jobs, o.job, at);
    assert.ok(started, `${runId} started`);
    await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 300_000 });
    const report = (await pruneReport(engine, runId))!;
    assert.equal(report.state, 'Completed', `${runId}: ${report.problem}`);
    runs.push(runId);
    taken.push((await engine.snapshotOf(runId))!.context.snapshotTaken as string);
  }

  const names = async (d: StorageDriver, fs: string) => (await d.listVersions(fs)).map((v) => v.name);
  for (const fs of filesystems) {
    const foreign = o.foreign?.filesystem === fs ? [o.foreign.name] : [];
    assert.deepEqual(await names(o.sender, fs), [...foreign, ...taken.slice(-o.senderKeep)], `sender ${fs}`);
    for (const r of o.receivers) assert.deepEqual(await names(r, fs), taken.slice(-o.receiverKeep), `${r.endpoint} ${fs}`);
  }
  for (let i = 1; i < runs.length; i++) {
    for (let r = 0; r < o.receivers.length; r++) {
      const entries = (await engine.snapshotOf(`${runs[i]}.to-${r}`))!.context.filesystems as FilesystemEntry[];
      for (const e of entries) {
        assert.deepEqual(e.steps.map((s: Step) => [s.from?.name ?? null, s.to.name]), [[taken[i - 1], taken[i]]], `${runs[i]} to-${r} ${e.name}: incremental, never a full resend`);
      }
    }
  }

  const before = await Promise.all([o.sender, ...o.receivers].map(async (d) => Promise.all(filesystems.map((fs) => names(d, fs)))));
  await o.sender.snapshot(filesystems, 'auto_zz_extra'); // something the sender's rules would prune
  const dry = await startPruning(engine, jobs, o.job, { dryRun: true, at: at + 60_000 });
  await engine.waitFor(dry, (r) => r.status !== 'active', { timeoutMs: 300_000 });
  const plan = (await pruneReport(engine, dry))!;
  assert.equal(plan.state, 'Completed', plan.problem ?? '');
  assert.ok(plan.prunings[0].destroyed.length > 0, 'the dry run would destroy something');
  await Promise.all(filesystems.map((fs) => o.sender.destroySnapshot(fs, 'auto_zz_extra')));
  const afterDry = await Promise.all([o.sender, ...o.receivers].map(async (d) => Promise.all(filesystems.map((fs) => names(d, fs)))));
  assert.deepEqual(afterDry, before, 'a dry run destroys nothing');
  return { runs, taken };
}
