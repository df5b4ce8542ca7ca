import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { TransitionEvent } from '../engine/types.js';
import type { FerryMetrics } from './metrics.js';
import { followLogFromNow } from './log-follower.js';

/**
 * Feeds a clusterView FerryMetrics from the transition log, so `ferry serve`'s /metrics counts what
 * every worker process committed, including a worker killed since: transitions and seconds per state
 * from the log entries, bytes replicated from the filesystem machines' committed byte counts (read
 * when a step's result is committed). Counting starts when the follower starts, as Prometheus
 * counters do.
 */
export function startClusterMetrics(engine: Engine, metrics: FerryMetrics, log?: Logger): { stop(): Promise<void> } {
  const cluster = metrics.cluster;
  if (!cluster) throw new Error('startClusterMetrics needs a FerryMetrics with clusterView');
  /** per active machine: when it entered its state, and (filesystems) the bytes already counted */
  const seen = new Map<string, { at: number; bytes: number }>();

  const onEvent = async (e: TransitionEvent) => {
    cluster.transitions.inc({ machine: e.kind, from: e.from ?? '', to: e.to });
    const prev = seen.get(e.machineId);
    if (prev && e.from !== null) cluster.stateSeconds.observe({ machine: e.kind, state: e.from }, Math.max(0, (e.at - prev.at) / 1000));
    const entry = { at: e.at, bytes: prev?.bytes ?? 0 };
    if (e.kind === 'filesystem' && e.event === 'xstate.done.actor.step') {
      const s = await engine.snapshotOf(e.machineId);
      const c = s?.context as { name?: string; bytes?: number } | undefined;
      // a machine first seen mid-run has its earlier steps counted by nobody: start from what it has
      const total = typeof c?.bytes === 'number' ? c.bytes : entry.bytes;
      if (prev && total > entry.bytes && c?.name !== undefined) cluster.bytesReplicated.inc({ filesystem: c.name }, total - entry.bytes);
      entry.bytes = Math.max(entry.bytes, total);
    }
    if (e.status !== 'active') seen.delete(e.machineId);
    else seen.set(e.machineId, entry);
    if (seen.size > 100_000) seen.delete(seen.keys().next().value as string);
  };

  return followLogFromNow(engine, onEvent, 'cluster metrics', log);
}
