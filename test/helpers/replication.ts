import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engine/index.js';
import { openTestEngine, type TestEngine } from './engine.js';
import type { EngineOptions } from '../../src/engine/index.js';
import type { RedisTarget } from '../../src/util/redis-target.js';
import { FerryMetrics } from '../../src/observability/metrics.js';
import { createLogger } from '../../src/util/logger.js';
import { replicationRegistry } from '../../src/replication/registry.js';
import { startReplication, type ReplicateOptions } from '../../src/replication/runs.js';
import { runReport } from '../../src/replication/report.js';
import type { Report } from '../../src/replication/report.js';

let n = 0;

/** An engine with ferry's replication machines and in-process workers, on its own key prefix and connection. */
export function replicationEngine(redisUrl: string | RedisTarget, opts: Partial<Omit<EngineOptions, 'redis'>> = {}): TestEngine {
  const metrics = new FerryMetrics();
  const engine = openTestEngine(redisUrl, {
    prefix: `rep${process.pid}x${++n}`, registry: replicationRegistry({ metrics }), metrics,
    logger: createLogger({ level: 'warn', pretty: false }), ...opts,
  });
  engine.startWorkers({ watchdogIntervalMs: 200 });
  return engine;
}

export const fastRetry = { initialMs: 100, maxMs: 400, maxAttempts: 50 };

/**
 * Starts a run and waits for its end. The default wait is long: a run of a few MiB takes about 1 s
 * on an idle host and 18 s in the OpenZFS VM's emulation, several times that on a busy CI machine.
 */
export async function replicate(engine: Engine, o: ReplicateOptions, timeoutMs = 300_000): Promise<Report> {
  const id = await startReplication(engine, { retry: fastRetry, ...o });
  try {
    await engine.waitFor(id, (r) => r.status !== 'active', { timeoutMs });
  } catch (err) {
    // where the run stood: which filesystem and step, and the queues (a CI log is all there is)
    const report = await runReport(engine, id).catch(() => null);
    const queues = await engine.queueCounts().catch(() => null);
    throw new Error(`${(err as Error).message}; report: ${JSON.stringify(report)}; queues: ${JSON.stringify(queues)}`, { cause: err });
  }
  return (await runReport(engine, id))!;
}

export function tempDir(tag: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `ferry-${tag}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
