import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** buckets of ferry_state_seconds, this process's and the cluster-wide twin alike */
const STATE_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600];

/** ferry's Prometheus metrics, in one registry per process. */
export class FerryMetrics {
  readonly registry = new Registry();
  readonly stateSeconds = new Histogram({
    name: 'ferry_state_seconds',
    help: 'Seconds a machine spent in a state, observed when it leaves the state',
    labelNames: ['machine', 'state'] as const,
    buckets: STATE_BUCKETS,
    registers: [this.registry],
  });
  readonly transitions = new Counter({
    name: 'ferry_transitions_total',
    help: 'Committed state changes, by machine kind and target state',
    labelNames: ['machine', 'from', 'to'] as const,
    registers: [this.registry],
  });
  readonly bytesReplicated = new Counter({
    name: 'ferry_bytes_replicated_total',
    help: 'Bytes of snapshot streams received, by filesystem',
    labelNames: ['filesystem'] as const,
    registers: [this.registry],
  });
  /** the cluster-wide twins, in clusterView mode */
  readonly cluster: {
    stateSeconds: Histogram<'machine' | 'state'>;
    transitions: Counter<'machine' | 'from' | 'to'>;
    bytesReplicated: Counter<'filesystem'>;
  } | null = null;
  readonly watchdogTimeouts = new Counter({
    name: 'ferry_watchdog_timeouts_total',
    help: 'Effects aborted by the watchdog for lack of progress, by effect',
    labelNames: ['effect'] as const,
    registers: [this.registry],
  });
  readonly staleEvents = new Counter({
    name: 'ferry_stale_events_total',
    help: 'Inbox events dropped because their child or timer was no longer current (late or duplicate results)',
    labelNames: ['machine', 'from'] as const,
    registers: [this.registry],
  });
  readonly commitConflicts = new Counter({
    name: 'ferry_commit_conflicts_total',
    help: 'Commits that lost the compare-and-set on the machine version and were retried',
    registers: [this.registry],
  });

  /** Praefect's replication delay: a step waiting in the queue, from its job's creation to a worker starting it */
  readonly replicationDelay = new Histogram({
    name: 'ferry_replication_delay_seconds',
    help: 'Seconds from a replication step being scheduled (its job created) to a worker starting it, by type (full, incremental)',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });
  /** Praefect's replication latency: how long a step that replicated data took */
  readonly replicationLatency = new Histogram({
    name: 'ferry_replication_latency_seconds',
    help: 'Seconds a replication step took to run, for steps that replicated data, by type (full, incremental)',
    labelNames: ['type'] as const,
    buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 14400],
    registers: [this.registry],
  });

  readonly walArchive = new Counter({
    name: 'ferry_wal_archive_total',
    help: 'WAL entries handled by the archiver: success (uploaded), skipped (already in the sink with the same checksum), fail',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly walArchiveLatency = new Histogram({
    name: 'ferry_wal_archive_latency_seconds',
    help: 'Seconds to archive one WAL entry (read, checksum, upload, acknowledge)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly walGaps = new Counter({
    name: 'ferry_wal_archive_gaps_total',
    help: 'Gaps found in partitions (the low water mark was above the next LSN to archive)',
    labelNames: ['storage'] as const,
    registers: [this.registry],
  });
  readonly walBacklog = new Gauge({
    name: 'ferry_wal_archive_backlog_entries',
    help: 'Committed entries not archived yet, per partition (as of the last scan)',
    labelNames: ['storage', 'partition'] as const,
    registers: [this.registry],
  });

  /**
   * With `clusterView`, the registry's transitions, state seconds and bytes replicated are those of
   * the whole cluster, fed from the transition log (src/observability/cluster-metrics.ts); what this
   * process counts itself goes to unregistered twins, so nothing is counted twice.
   */
  constructor(opts: { defaults?: boolean; clusterView?: boolean } = {}) {
    if (opts.defaults) collectDefaultMetrics({ register: this.registry, prefix: 'ferry_node_' });
    if (opts.clusterView) {
      for (const m of [this.stateSeconds, this.transitions, this.bytesReplicated]) {
        const name = (m as unknown as { name: string }).name;
        this.registry.removeSingleMetric(name);
      }
      this.cluster = {
        stateSeconds: new Histogram({ name: 'ferry_state_seconds', help: 'Seconds a machine spent in a state, observed when it leaves the state (all processes, from the transition log)', labelNames: ['machine', 'state'] as const, buckets: STATE_BUCKETS, registers: [this.registry] }),
        transitions: new Counter({ name: 'ferry_transitions_total', help: 'Committed state changes, by machine kind and target state (all processes, from the transition log)', labelNames: ['machine', 'from', 'to'] as const, registers: [this.registry] }),
        bytesReplicated: new Counter({ name: 'ferry_bytes_replicated_total', help: 'Bytes of completed replication steps, by filesystem (all processes, from committed machine state)', labelNames: ['filesystem'] as const, registers: [this.registry] }),
      };
    }
  }
}
