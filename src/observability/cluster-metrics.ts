import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { TransitionEvent } from '../engine/types.js';
import type { FerryMetrics } from './metrics.js';
import { followLogFromNow } from './log-follower.js';

/**
 * Feeds a clusterView FerryMetrics from the transition log, so `ferry serve`'s /metrics counts what
 * every worker process committed, including a worker killed since: transitions and seconds per state
 * from the log entries. Counting starts when the follower starts, as Prometheus counters do (bytes
 * replicated are durable instead: committed-metrics.ts).
 */
export function startClusterMetrics(engine: Engine, metrics: FerryMetrics, log?: Logger): { stop(): Promise<void> } {
  const cluster = metrics.cluster;
  if (!cluster) throw new Error('startClusterMetrics needs a FerryMetrics with clusterView');
  /** per active machine: when it entered its state */
  const seen = new Map<string, number>();

  const onEvent = (e: TransitionEvent) => {
    cluster.transitions.inc({ machine: e.kind, from: e.from ?? '', to: e.to });
    const since = seen.get(e.machineId);
    if (since !== undefined && e.from !== null) cluster.stateSeconds.observe({ machine: e.kind, state: e.from }, Math.max(0, (e.at - since) / 1000));
    if (e.status !== 'active') seen.delete(e.machineId);
    else seen.set(e.machineId, e.at);
    if (seen.size > 100_000) seen.delete(seen.keys().next().value as string);
  };

  return followLogFromNow(engine, onEvent, 'cluster metrics', log);
}
