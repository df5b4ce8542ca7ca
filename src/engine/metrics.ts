import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** buckets of ferry_state_seconds; the cluster-wide twin in src/observability uses the same */
export const STATE_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600];

/**
 * The engine's own Prometheus metrics, registered in the registry it is given (the app composes one
 * registry from every layer's metrics; see src/observability/metrics.ts).
 */
export class EngineMetrics {
  readonly stateSeconds: Histogram<'machine' | 'state'>;
  readonly transitions: Counter<'machine' | 'from' | 'to'>;
  readonly watchdogTimeouts: Counter<'effect'>;
  readonly staleEvents: Counter<'machine' | 'from'>;
  readonly commitConflicts: Counter;
  readonly reconciled: Counter<'reason'>;
  readonly commitReplicaTimeouts: Counter;
  readonly machinesRemoved: Counter<'machine'>;
  readonly redisUp: Gauge;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.stateSeconds = new Histogram({
      name: 'ferry_state_seconds',
      help: 'Seconds a machine spent in a state, observed when it leaves the state',
      labelNames: ['machine', 'state'] as const,
      buckets: STATE_BUCKETS,
      registers,
    });
    this.transitions = new Counter({
      name: 'ferry_transitions_total',
      help: 'Committed state changes, by machine kind and target state',
      labelNames: ['machine', 'from', 'to'] as const,
      registers,
    });
    this.watchdogTimeouts = new Counter({
      name: 'ferry_watchdog_timeouts_total',
      help: 'Effects aborted by the watchdog for lack of progress, by effect',
      labelNames: ['effect'] as const,
      registers,
    });
    this.staleEvents = new Counter({
      name: 'ferry_stale_events_total',
      help: 'Inbox events dropped because their child or timer was no longer current (late or duplicate results)',
      labelNames: ['machine', 'from'] as const,
      registers,
    });
    this.commitConflicts = new Counter({
      name: 'ferry_commit_conflicts_total',
      help: 'Commits that lost the compare-and-set on the machine version and were retried',
      registers,
    });
    this.reconciled = new Counter({
      name: 'ferry_engine_reconciled_total',
      help: 'Machines the reconciler found waiting on work that no longer exists, and repaired, by reason (effect_lost, effect_failed, timer_lost, inbox_stranded, outbox_stranded)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.commitReplicaTimeouts = new Counter({
      name: 'ferry_engine_commit_replica_timeouts_total',
      help: 'Commits whose WAIT for replicas (--min-replicas) timed out: their effects wait and the drain is retried (docs/ha.md)',
      registers,
    });
    this.machinesRemoved = new Counter({
      name: 'ferry_engine_machines_removed_total',
      help: 'Finished machines removed (record, inbox, outbox, index entry) once older than the retention (--history-days; docs/engine.md), by machine kind',
      labelNames: ['machine'] as const,
      registers,
    });
    this.redisUp = new Gauge({
      name: 'ferry_redis_up',
      help: '1 while this process reaches a Redis primary, 0 during an outage or a failover',
      registers,
    });
    this.redisUp.set(1);
  }
}
