import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PruningContext } from '../machines/pruning.js';
import { openTestEngine } from './helpers/engine.js';
import { mergeRegistries } from '../src/engine/merge-registries.js';
import { pruneReport, startPruning } from '../src/jobs/prune.js';
import { jobRegistry } from '../src/jobs/registry.js';
import { validateJobSpec } from '../src/jobs/spec.js';
import { JobStore } from '../src/jobs/store.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { createLogger } from '../src/util/logger.js';
import { stopProcess, until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { fastRetry, tempDir } from './helpers/replication.js';
import { startWorker, type WorkerProcess } from './helpers/step-kill.js';

const SNAPSHOTS = 40;

/** `pruning: destroy` log lines of a worker's stderr: snapshot -> outcomes, in order. */
function destroyOutcomes(stderr: string): Array<{ snapshot: string; outcome: string }> {
  return stderr.split('\n').flatMap((line) => {
    try {
      const o = JSON.parse(line) as { msg?: string; snapshot?: string; outcome?: string };
      return o.msg === 'pruning: destroy' ? [{ snapshot: o.snapshot!, outcome: o.outcome! }] : [];
    } catch {
      return [];
    }
  });
}

it('a pruning whose worker is SIGKILLed during Exec resumes on another worker, destroys nothing twice and fails nothing', async (t) => {
  const d = tempDir('prune-kill');
  const redis = await startTestRedis();
  const prefix = `prunekill${process.pid}`;
  const engine = openTestEngine(redis.url, {
    prefix, registry: mergeRegistries(replicationRegistry({ metrics: new FerryMetrics() }), jobRegistry()), logger: createLogger({ level: 'warn', pretty: false }),
  });
  const workers: WorkerProcess[] = [];
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) await stopProcess(w.child);
    await engine.close();
    await redis.stop();
    d.remove();
  });

  mkdirSync(join(d.path, 's/a'), { recursive: true });
  mkdirSync(join(d.path, 'r'));
  writeFileSync(join(d.path, 's/a/f.txt'), 'data');
  const sender = createDirDriver(join(d.path, 's'));
  const names = Array.from({ length: SNAPSHOTS }, (_, i) => `auto_${String(i).padStart(3, '0')}`);
  for (const n of names) await sender.snapshot(['a'], n);
  const jobs = new JobStore(engine.connection, prefix);
  await jobs.put(validateJobSpec({
    name: 'killed', sender: sender.endpoint, receivers: [`dir:${join(d.path, 'r')}`], snapshotPrefix: 'auto', retry: fastRetry,
    retention: { sender: [{ type: 'last_n', count: 1 }] },
  }));

  workers.push(await startWorker(redis.url, prefix, 'info'));
  const runId = await startPruning(engine, jobs, 'killed');
  const pruning = `${runId}.prune-sender`;
  const execDone = async () => ((await engine.snapshotOf(pruning))?.context as PruningContext | undefined)?.execDone ?? 0;
  await until('a few snapshots destroyed', async () => (await execDone()) >= 3, 60_000, 5);
  workers[0].child.kill('SIGKILL');
  await new Promise((r) => workers[0].child.once('exit', r));
  const atKill = await execDone();
  t.diagnostic(`killed after ${atKill} of ${SNAPSHOTS - 1} destroys`);
  assert.ok(atKill < SNAPSHOTS - 1, 'the worker was killed before the pruning finished');

  workers.push(await startWorker(redis.url, prefix, 'info'));
  await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 120_000 });
  await stopProcess(workers[1].child);

  const report = (await pruneReport(engine, runId))!;
  assert.equal(report.state, 'Completed', report.problem ?? '');
  const [p] = report.prunings;
  assert.equal(p.state, 'Done');
  assert.deepEqual(p.destroyed.map((x) => x.name), names.slice(0, -1), 'each planned snapshot reported destroyed once, oldest first');
  assert.deepEqual(p.kept.map((k) => k.name), names.slice(-1));
  assert.deepEqual((await sender.listVersions('a')).map((v) => v.name), names.slice(-1));

  // the driver's destroy succeeded at most once per snapshot across both workers; a retry found it gone
  const outcomes = [...destroyOutcomes(workers[0].stderr()), ...destroyOutcomes(workers[1].stderr())];
  const destroyedTwice = names.filter((n) => outcomes.filter((o) => o.snapshot === `a@${n}` && o.outcome === 'destroyed').length > 1);
  assert.deepEqual(destroyedTwice, []);
  assert.ok(outcomes.every((o) => o.outcome === 'destroyed' || o.outcome === 'gone'), JSON.stringify(outcomes.filter((o) => o.outcome !== 'destroyed' && o.outcome !== 'gone')));
});
