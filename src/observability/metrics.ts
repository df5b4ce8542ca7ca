import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** ferry's Prometheus metrics, in one registry per process. */
export class FerryMetrics {
  readonly registry = new Registry();
  readonly stateSeconds = new Histogram({
    name: 'ferry_state_seconds',
    help: 'Seconds a machine spent in a state, observed when it leaves the state',
    labelNames: ['machine', 'state'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600],
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

  constructor(opts: { defaults?: boolean } = {}) {
    if (opts.defaults) collectDefaultMetrics({ register: this.registry, prefix: 'ferry_node_' });
  }
}
