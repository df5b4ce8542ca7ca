import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Replication's Prometheus metrics of one process, registered in the registry it is given. Bytes,
 * lag and last success are committed with the machines' state instead (committed-stats.ts).
 */
export class ReplicationMetrics {
  /** a step waiting in the queue, from its job's creation to a worker starting it (not the replication lag) */
  readonly stepQueueWait: Histogram<'type'>;
  /** Praefect's replication latency: how long a step that replicated data took */
  readonly replicationLatency: Histogram<'type'>;
  /** snapshots the pruning machines destroyed (dry runs destroy nothing and count nothing) */
  readonly prunedSnapshots: Counter<'ferry_job' | 'side'>;
  /** snapshots the last pruning plan of a side kept */
  readonly keptSnapshots: Gauge<'ferry_job' | 'side' | 'endpoint'>;
  /** how long one piece of pruning work took: a plan, or one destroy */
  readonly pruningDuration: Histogram<'phase'>;
  /** 1 for each sender/receiver pair's protected version (the newest common one) per filesystem, as the last plan found it */
  readonly protectedVersion: Gauge<'ferry_job' | 'sender' | 'receiver' | 'filesystem' | 'snapshot'>;
  /** the snapshot label each pair's series has now, to drop it when the protected version moves on */
  private readonly protectedNow = new Map<string, string>();

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
    this.prunedSnapshots = new Counter({
      name: 'ferry_pruned_snapshots_total',
      help: 'Snapshots destroyed by pruning, by job and side (sender, receiver)',
      labelNames: ['ferry_job', 'side'] as const,
      registers,
    });
    this.keptSnapshots = new Gauge({
      name: 'ferry_kept_snapshots',
      help: 'Snapshots the last pruning plan kept, by job, side (sender, receiver) and endpoint',
      labelNames: ['ferry_job', 'side', 'endpoint'] as const,
      registers,
    });
    this.pruningDuration = new Histogram({
      name: 'ferry_pruning_duration_seconds',
      help: 'Seconds one piece of pruning work took, by phase (plan: listing both sides and planning; destroy: one snapshot)',
      labelNames: ['phase'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    });
    this.protectedVersion = new Gauge({
      name: 'ferry_protected_version_info',
      help: 'The version pruning protects for a sender/receiver pair and filesystem (the newest common one, the next incremental base), as the last pruning plan found it: 1 for its snapshot',
      labelNames: ['ferry_job', 'sender', 'receiver', 'filesystem', 'snapshot'] as const,
      registers,
    });
  }

  /**
   * Records a pair's protected version; the series of the version it protected before goes. An own
   * property (not a method): FerryMetrics composes the layers' metrics by copying own properties.
   */
  readonly setProtectedVersion = (p: { job: string; sender: string; receiver: string; filesystem: string; snapshot: string }): void => {
    const pair = { ferry_job: p.job, sender: p.sender, receiver: p.receiver, filesystem: p.filesystem };
    const key = JSON.stringify(pair);
    const before = this.protectedNow.get(key);
    if (before !== undefined && before !== p.snapshot) this.protectedVersion.remove({ ...pair, snapshot: before });
    this.protectedNow.set(key, p.snapshot);
    this.protectedVersion.set({ ...pair, snapshot: p.snapshot }, 1);
  };
}
