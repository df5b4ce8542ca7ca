import type { Engine } from '../engine/engine.js';
import { startHealthChecker, type HealthChecker } from '../health/health-checker.js';
import type { TargetHealth } from '../health/target-health.js';
import { startClusterMetrics } from '../observability/cluster-metrics.js';
import { registerCommittedMetrics } from '../observability/committed-metrics.js';
import { registerTargetHealthMetrics } from '../observability/health-metrics.js';
import { feedInspectorFromLog } from '../observability/inspector-feed.js';
import { InspectorBridge, startInspector, type Inspector } from '../observability/inspector-bridge.js';
import { FerryMetrics } from '../observability/metrics.js';
import { startMetricsServer, type ListenAddress, type MetricsServer } from '../observability/metrics-server.js';
import { registerQueueMetrics } from '../observability/queue-metrics.js';
import type { Logger } from '../util/logger.js';

/** What `ferry serve` runs over: the CLI's open app (src/cli/app.ts), whose closing it takes over. */
export interface ServeApp {
  engine: Engine;
  log: Logger;
  /** made by serveMetrics() */
  metrics: FerryMetrics;
  health: TargetHealth;
  close(): Promise<void>;
}

/** A listener started by the layer above (the gRPC API lives in src/api, above this folder). */
export interface ApiServer {
  address: string;
  close(graceMs?: number): Promise<void>;
}

export interface ServeOptions {
  /** the gRPC Orchestrator API; none without --grpc */
  api?: {
    /** grpc or grpcs, for the printed line */
    scheme: string;
    start(): Promise<ApiServer>;
  };
  /** the live view (src/ui, above this folder); none without --ui */
  ui?: { start(): Promise<{ url: string; close(): Promise<void> }> };
  /** /metrics and /healthz; null with --no-metrics */
  metricsAt: ListenAddress | null;
  /** the Stately inspector server; null without --inspect */
  inspectAt: ListenAddress | null;
  /** how often each healthy agent is health-checked, in milliseconds */
  healthIntervalMs: number;
  /** starts this process's workers (the CLI's startAppWorkers with its flags) */
  startWorkers(): void;
}

export interface ServeHandle {
  /** one line per listener, in start order, for stdout */
  lines: string[];
  /** stops everything in order, the app included */
  close(): Promise<void>;
}

/** The registry of `ferry serve`: Node defaults, and the whole cluster's transitions (all workers), not only this process's. */
export function serveMetrics(): FerryMetrics {
  return new FerryMetrics({ defaults: true, clusterView: true });
}

/**
 * Starts what `ferry serve` runs beside the app: metrics, the API, the inspector, workers and the
 * health checker. Workers start once the listeners are up, so a busy port fails before any job is
 * taken; on such a failure whatever started is closed (the app too) and the error thrown.
 */
export async function startServe(app: ServeApp, o: ServeOptions): Promise<ServeHandle> {
  const { metrics } = app;
  let metricsServer: MetricsServer | null = null;
  let inspector: Inspector | null = null;
  let apiServer: ApiServer | null = null;
  let uiServer: { close(): Promise<void> } | null = null;
  let clusterMetrics: { stop(): Promise<void> } | null = null;
  let inspectorFeed: { stop(): Promise<void> } | null = null;
  let checker: HealthChecker | null = null;
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= (async () => {
    await apiServer?.close(5000);
    await uiServer?.close();
    await clusterMetrics?.stop();
    await inspectorFeed?.stop();
    // metrics first (no scrape of a closing engine), workers next (their last transitions still reach the inspector), the inspector last
    await metricsServer?.close();
    await checker?.stop();
    await app.close();
    await inspector?.close();
  })());

  const lines: string[] = [];
  try {
    registerQueueMetrics(metrics.registry, app.engine, { log: app.log });
    registerTargetHealthMetrics(metrics.registry, app.health, { log: app.log });
    registerCommittedMetrics(metrics.registry, app.engine, { log: app.log });
    clusterMetrics = startClusterMetrics(app.engine, metrics, app.log);
    if (o.api) {
      apiServer = await o.api.start();
      lines.push(`orchestrator on ${o.api.scheme}://${apiServer.address}`);
    }
    if (o.ui) {
      const ui = await o.ui.start();
      uiServer = ui;
      lines.push(`live view on ${ui.url}/`);
    }
    if (o.metricsAt) {
      metricsServer = await startMetricsServer({ address: o.metricsAt, registry: metrics.registry, log: app.log });
      lines.push(`metrics on ${metricsServer.url}/metrics`);
    }
    if (o.inspectAt) {
      // fed from the transition log (every process's commits), not by this process's engine
      const bridge = new InspectorBridge();
      inspector = await startInspector({ address: o.inspectAt, bridge, source: app.engine, log: app.log });
      inspectorFeed = feedInspectorFromLog(app.engine, bridge.inspect, app.log);
      lines.push(`Stately inspector on ${inspector.server.pageUrl} (open it in a browser with internet access; clients connect to ${inspector.server.wsUrl})`);
    }
    o.startWorkers();
    checker = startHealthChecker({ health: app.health, intervalMs: o.healthIntervalMs, log: app.log });
  } catch (err) {
    await close();
    throw err;
  }
  return { lines, close };
}
