import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { TargetHealth } from '../health/target-health.js';
import { scrapeRefresher } from './queue-metrics.js';

/**
 * `ferry_target_healthy{target}`: 1 for a healthy agent, 0 for an unhealthy one, for every target
 * work has used (or the checker watches), read from Redis at scrape time, so every `ferry serve`
 * reports the installation's view (use `max`/`min`, not `sum`). A forgotten target disappears.
 */
export function registerTargetHealthMetrics(registry: Registry, health: Pick<TargetHealth, 'list'>, opts: { log?: Logger; timeoutMs?: number } = {}): Gauge<'target'> {
  const refresh = scrapeRefresher(opts);
  const gauge: Gauge<'target'> = new Gauge({
    name: 'ferry_target_healthy',
    help: 'Whether an agent (grpc:// target, host:port) passes its health checks: 1 healthy, 0 unhealthy (work for it waits), read at scrape time',
    labelNames: ['target'] as const,
    registers: [registry],
    collect: () => refresh('ferry_target_healthy', async () => {
      const records = await health.list();
      gauge.reset();
      for (const r of records) gauge.set({ target: r.target }, r.state === 'healthy' ? 1 : 0);
    }),
  });
  return gauge;
}
