import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A registry with prom-client's process and Node.js metrics only, for a process that has no ferry_
 * metrics of its own (`ferry agent --metrics`): Prometheus scrapes it for `up` and its resources.
 */
export function processMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
