import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The archiver's Prometheus metrics, registered in the registry it is given. */
export class ArchiverMetrics {
  readonly walArchive: Counter<'status'>;
  readonly walArchiveLatency: Histogram;
  readonly walGaps: Counter<'storage'>;
  readonly walBacklog: Gauge<'storage' | 'partition' | 'consumer'>;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.walArchive = new Counter({
      name: 'ferry_wal_archive_total',
      help: 'WAL entries handled by the archiver: success (uploaded), skipped (already in the sink with the same checksum), fail',
      labelNames: ['status'] as const,
      registers,
    });
    this.walArchiveLatency = new Histogram({
      name: 'ferry_wal_archive_latency_seconds',
      help: 'Seconds to archive one WAL entry (read, checksum, upload; read ahead during the previous upload, acknowledged per batch)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.walGaps = new Counter({
      name: 'ferry_wal_archive_gaps_total',
      help: 'Gaps found in partitions (the low water mark was above the next LSN to archive)',
      labelNames: ['storage'] as const,
      registers,
    });
    this.walBacklog = new Gauge({
      name: 'ferry_wal_archive_backlog_entries',
      help: 'Committed entries not archived yet, per partition and consumer (as of the last scan)',
      labelNames: ['storage', 'partition', 'consumer'] as const,
      registers,
    });
  }
}
