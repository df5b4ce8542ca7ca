import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';

/**
 * A refresh of gauges from Redis at scrape time, given up after `timeoutMs` (default 5000): the
 * scrape then serves the last values, and the failure is logged.
 */
export function scrapeRefresher(opts: { log?: Logger; timeoutMs?: number }): (what: string, fn: () => Promise<void>) => Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return async (what, fn) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([fn(), timeout]);
    } catch (err) {
      opts.log?.warn({ err: (err as Error).message, metric: what }, 'metric not refreshed; serving its last value');
    } finally {
      clearTimeout(timer);
    }
  };
}

/** What the gauges read: an Engine (with or without workers) on the installation's prefix. */
export type QueueMetricsSource = Pick<Engine, 'queueCounts' | 'list' | 'statuses'>;

export interface QueueMetricsOptions {
  log?: Logger;
  /** a refresh that takes longer is abandoned: the gauges keep their last values. @defaultValue 5000 */
  timeoutMs?: number;
  /** replication runs looked at, newest first. @defaultValue 1000 */
  runsLimit?: number;
}

export interface QueueMetrics {
  queueJobs: Gauge<'queue' | 'state'>;
  runsInFlight: Gauge;
}

/**
 * Gauges computed from Redis on each scrape (prom-client `collect`), so a process serving
 * `/metrics` reports the installation's queues whichever worker holds the jobs:
 * `ferry_queue_jobs{queue,state}` (BullMQ job counts of drain, effects and timers) and
 * `ferry_runs_in_flight` (replication runs still active among the newest `runsLimit`).
 * When Redis does not answer in time the scrape still succeeds, with the last values.
 */
export function registerQueueMetrics(registry: Registry, source: QueueMetricsSource, opts: QueueMetricsOptions = {}): QueueMetrics {
  const runsLimit = opts.runsLimit ?? 1000;
  const refresh = scrapeRefresher(opts);

  const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
    name: 'ferry_queue_jobs',
    help: 'Jobs in the BullMQ queues (drain, effects, timers) by state (wait, active, delayed, failed, completed), read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    collect: () => refresh('ferry_queue_jobs', async () => {
      const counts = await source.queueCounts();
      for (const [queue, byState] of Object.entries(counts)) {
        for (const [state, n] of Object.entries(byState)) queueJobs.set({ queue, state }, n);
      }
    }),
  });

  const runsInFlight: Gauge = new Gauge({
    name: 'ferry_runs_in_flight',
    help: `Replication runs still active (among the newest ${runsLimit}), read at scrape time`,
    registers: [registry],
    collect: () => refresh('ferry_runs_in_flight', async () => {
      const ids = await source.list('replication', runsLimit);
      if (!ids.length) return runsInFlight.set(0);
      runsInFlight.set((await source.statuses(ids)).filter((status) => status === 'active').length);
    }),
  });

  return { queueJobs, runsInFlight };
}
