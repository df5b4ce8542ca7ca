import { Counter, Histogram, Registry } from 'prom-client';

/** Replication's Prometheus metrics, registered in the registry it is given. */
export class ReplicationMetrics {
  readonly bytesReplicated: Counter<'filesystem'>;
  /** Praefect's replication delay: a step waiting in the queue, from its job's creation to a worker starting it */
  readonly replicationDelay: Histogram<'type'>;
  /** Praefect's replication latency: how long a step that replicated data took */
  readonly replicationLatency: Histogram<'type'>;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.bytesReplicated = new Counter({
      name: 'ferry_bytes_replicated_total',
      help: 'Bytes of snapshot streams received, by filesystem',
      labelNames: ['filesystem'] as const,
      registers,
    });
    this.replicationDelay = new Histogram({
      name: 'ferry_replication_delay_seconds',
      help: 'Seconds from a replication step being scheduled (its job created) to a worker starting it, by type (full, incremental)',
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
