import { openRedis, type Engine } from '../../src/engine/index.js';
import { TestEngine } from './engine.js';
import { systemClock } from '../../src/engine/types.js';
import { FerryMetrics } from '../../src/observability/metrics.js';
import { createLogger, type Logger } from '../../src/util/logger.js';
import { archiverRegistry } from '../../src/archiver/registry.js';
import { allPartitionStatus, scanAndNotify, scannedMarks, settled, type PartitionStatus } from '../../src/archiver/coordinator.js';
import { openLogSource } from '../../src/archiver/open-log-source.js';

let n = 0;

/** An engine with the partition machine and in-process workers, on its own key prefix and connection. */
export function archiverEngine(redisUrl: string, o: { sinkBackoffMs?: number; effectConcurrency?: number; workers?: boolean; logger?: Logger } = {}): { engine: TestEngine; metrics: FerryMetrics; prefix: string } {
  const metrics = new FerryMetrics();
  const prefix = `arc${process.pid}x${++n}`;
  const redis = openRedis(redisUrl);
  const engine = new TestEngine(redis, {
    prefix, metrics, logger: o.logger ?? createLogger({ level: 'warn', pretty: false }),
    registry: archiverRegistry({ metrics, redis, prefix, clock: systemClock, sinkBackoffMs: o.sinkBackoffMs ?? 200 }),
    onEmit: (_rec, e) => { if (e.type === 'archive.gap') metrics.walGaps.inc({ storage: String((e as { storage?: unknown }).storage) }); },
  });
  if (o.workers !== false) engine.startWorkers({ effectConcurrency: o.effectConcurrency ?? 4, watchdogIntervalMs: 200 });
  return { engine, metrics, prefix };
}

export const fastArchiveRetry = { initialMs: 100, maxMs: 800 };

/**
 * Scans, notifies, and waits until every partition of this target is caught up or failed; returns
 * their status. `log`: a root directory or grpc://HOST:PORT; `consumer`: default derived from the sink.
 */
export async function archiveOnce(engine: Engine, log: string, sink: string, timeoutMs = 60_000, consumer?: string): Promise<PartitionStatus[]> {
  const deadline = Date.now() + timeoutMs;
  const target = { log, sink, consumer, retry: fastArchiveRetry };
  const marks = scannedMarks(await scanAndNotify(engine, openLogSource(log), target), target);
  for (;;) {
    const all = (await allPartitionStatus(engine)).filter((s) => marks.has(s.id));
    if (all.length >= marks.size && all.every((s) => settled(s, marks.get(s.id) ?? 0))) {
      // what the last commits report (logs, metrics) follows the records the statuses were read from
      if (engine instanceof TestEngine) await engine.settled();
      return all;
    }
    if (Date.now() > deadline) throw new Error(`archiving did not settle: ${JSON.stringify(all.filter((s) => !settled(s, marks.get(s.id) ?? 0)))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
