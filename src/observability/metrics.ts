import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ArchiverMetrics } from '../archiver/metrics.js';
import { EngineMetrics, STATE_BUCKETS } from '../engine/metrics.js';
import { ReplicationMetrics } from '../replication/metrics.js';

/** the metrics fed from the transition log when a process shows the whole cluster */
export interface ClusterTwins {
  stateSeconds: Histogram<'machine' | 'state'>;
  transitions: Counter<'machine' | 'from' | 'to'>;
}

// a FerryMetrics is every layer's metrics at once, so it is what each layer asks for
export interface FerryMetrics extends EngineMetrics, ReplicationMetrics, ArchiverMetrics {}

/**
 * ferry's Prometheus metrics, in one registry per process: each layer declares its own (engine,
 * replication, archiver) and this composes them, with Node's defaults if asked.
 */
export class FerryMetrics {
  readonly registry = new Registry();
  /** the cluster-wide twins, in clusterView mode */
  readonly cluster: ClusterTwins | null = null;

  /**
   * `defaults`: prom-client's Node.js process metrics, unprefixed (`process_*`, `nodejs_*`), as stock
   * Node.js dashboards expect them. With `clusterView`, the registry's transitions and state seconds
   * are those of the whole cluster, fed from the transition log (src/observability/cluster-metrics.ts);
   * what this process counts itself goes to unregistered twins, so nothing is counted twice.
   */
  constructor(opts: { defaults?: boolean; clusterView?: boolean } = {}) {
    Object.assign(this, new EngineMetrics(this.registry), new ReplicationMetrics(this.registry), new ArchiverMetrics(this.registry));
    if (opts.defaults) collectDefaultMetrics({ register: this.registry });
    if (opts.clusterView) {
      for (const name of ['ferry_state_seconds', 'ferry_transitions_total']) this.registry.removeSingleMetric(name);
      const registers = [this.registry];
      this.cluster = {
        stateSeconds: new Histogram({ name: 'ferry_state_seconds', help: 'Seconds a machine spent in a state, observed when it leaves the state (all processes, from the transition log)', labelNames: ['machine', 'state'] as const, buckets: STATE_BUCKETS, registers }),
        transitions: new Counter({ name: 'ferry_transitions_total', help: 'Committed state changes, by machine kind and target state (all processes, from the transition log)', labelNames: ['machine', 'from', 'to'] as const, registers }),
      };
    }
  }
}
