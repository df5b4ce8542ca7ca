import { Histogram, Registry } from 'prom-client';

/**
 * Replication's Prometheus metrics of one process, registered in the registry it is given. Bytes,
 * lag and last success are committed with the machines' state instead (committed-stats.ts).
 */
export class ReplicationMetrics {
  /** a step waiting in the queue, from its job's creation to a worker starting it (not the replication lag) */
  readonly stepQueueWait: Histogram<'type'>;
  /** Praefect's replication latency: how long a step that replicated data took */
  readonly replicationLatency: Histogram<'type'>;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.stepQueueWait = new Histogram({
      name: 'ferry_replication_step_queue_wait_seconds',
      help: 'Seconds a replication step waited in the queue, from its job being created to a worker starting it, by type (full, incremental)',
      labelNames: ['type'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    this.replicationLatency = new Histogram({
      name: 'ferry_replication_latency_seconds',
      help: 'Seconds a replication step took to run, for steps that replicated data, by type (full, incremental)',
      labelNames: ['type'] as const,
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 14400],
      registers,
    });
  }
}
