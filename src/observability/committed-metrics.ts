import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { Stat } from '../engine/types.js';
import { STAT } from '../replication/committed-stats.js';
import { scrapeRefresher } from './queue-metrics.js';

export interface CommittedMetrics {
  replicatedBytes: Counter<'filesystem'>;
  replicationLag: Gauge<'ferry_job' | 'receiver' | 'filesystem'>;
  lastSuccess: Gauge<'ferry_job' | 'receiver' | 'filesystem'>;
}

/**
 * The numbers the machines commit with their state (src/replication/committed-stats.ts), read from
 * Redis on each scrape: so every `ferry serve`, a restarted one included, reports the installation's
 * totals, whichever process did the work and whenever it started. One read serves the three
 * metrics of a scrape; when Redis does not answer in time they keep their last values.
 */
export function registerCommittedMetrics(registry: Registry, source: Pick<Engine, 'stats'>, opts: { log?: Logger; timeoutMs?: number } = {}): CommittedMetrics {
  const refresh = scrapeRefresher(opts);
  // prom-client collects every metric of a scrape at once: they share the read in flight
  let reading: Promise<Stat[]> | null = null;
  const read = () => (reading ??= source.stats().finally(() => { reading = null; }));
  /** replaces a metric's series with the stats named `name`, keeping only its label names */
  const fill = <L extends string>(metric: Counter<L> | Gauge<L>, name: string, labelNames: readonly L[]) => refresh(name, async () => {
    const stats = (await read()).filter((s) => s.name === name);
    metric.reset();
    for (const s of stats) {
      const labels = Object.fromEntries(labelNames.filter((l) => s.labels[l] !== undefined).map((l) => [l, s.labels[l]])) as Partial<Record<L, string>>;
      if (metric instanceof Counter) metric.inc(labels, s.value);
      else metric.set(labels, s.value);
    }
  });

  const where = ['ferry_job', 'receiver', 'filesystem'] as const;
  const replicatedBytes: Counter<'filesystem'> = new Counter({
    name: 'ferry_replicated_bytes_total',
    help: 'Bytes of completed replication steps, by filesystem, all processes since the installation began (committed with the machines\' state, read at scrape time)',
    labelNames: ['filesystem'] as const,
    registers: [registry],
    collect: () => fill(replicatedBytes, STAT.replicatedBytes, ['filesystem'] as const),
  });
  const replicationLag: Gauge<'ferry_job' | 'receiver' | 'filesystem'> = new Gauge({
    name: 'ferry_replication_lag_seconds',
    help: 'Seconds the newest version on the receiver is older than the newest version the sender has to send (creation times), per receiver filesystem, as of its last plan or completed step',
    labelNames: where,
    registers: [registry],
    collect: () => fill(replicationLag, STAT.replicationLag, where),
  });
  const lastSuccess: Gauge<'ferry_job' | 'receiver' | 'filesystem'> = new Gauge({
    name: 'ferry_last_success_timestamp_seconds',
    help: 'When a job invocation (labels: ferry_job) or a filesystem of a run (ferry_job, receiver, filesystem) last completed, in seconds since the epoch',
    labelNames: where,
    registers: [registry],
    collect: () => fill(lastSuccess, STAT.lastSuccess, where),
  });
  return { replicatedBytes, replicationLag, lastSuccess };
}
