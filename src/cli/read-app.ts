import { EngineReader } from '../engine/engine-reader.js';
import { TargetHealthRecords } from '../health/health-records.js';
import { JobStore } from '../jobs/store.js';
import { RunViews, targetViews } from '../service/run-views.js';
import type { GlobalOptions } from './app.js';
import { connectRedis } from './redis-connection.js';

/**
 * What a command that only reads runs opens instead of the app (app.ts): Redis and the records,
 * read with plain commands. No Engine (so no BullMQ), no registries (no machine definitions, no
 * drivers, no gRPC) and no logger: `ferry status` starts in a fraction of the time (bench/startup.bench.ts).
 */
export async function openReadApp(g: GlobalOptions): Promise<{ runs: RunViews; close(): Promise<void> }> {
  const redis = await connectRedis(g, undefined);
  const health = new TargetHealthRecords(redis.conn, g.prefix);
  const runs = new RunViews({
    engine: new EngineReader(redis.conn, g.prefix), jobs: new JobStore(redis.conn, g.prefix),
    targets: async () => targetViews(await health.list()),
  });
  return { runs, close: () => redis.close() };
}
