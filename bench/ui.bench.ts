/**
 * The live view with thousands of machines: 5,000 replication machines in Redis (started, not run:
 * no workers), the live view's server in this process, the machines page in headless chromium.
 * Measures the time to first render (navigation to the list in the DOM, the server's answer
 * included, and the browser's share alone) and the time to filter the list (typing into the search
 * box to the list redrawn, median of several), in ms.
 *
 *   node --import tsx bench/ui.bench.ts        BENCH_UI_MACHINES=5000 BENCH_UI_FILTERS=9
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { openTestEngine } from '../test/helpers/engine.js';
import { freePort } from '../src/cli/embedded-redis.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { JobStore } from '../src/jobs/store.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { startReplication } from '../src/replication/runs.js';
import { LocalOrchestrator } from '../src/service/local-orchestrator.js';
import { startUiServer } from '../src/ui/server.js';
import { createLogger } from '../src/util/logger.js';
import { envInt, passFail, pool, printReport, round, runIfMain, withTestRedis } from './lib.js';

const CHROMIUM = '/usr/bin/chromium';
/** targets on the 2-CPU machine: the page is usable within these */
const TARGET_FIRST_RENDER_MS = 5000;
const TARGET_FILTER_MS = 100;

export interface UiReport {
  machines: number;
  /** ms to start them in Redis (setup, not a figure of the UI) */
  setupMs: number;
  /** navigation start to the list drawn, ms (fetch of /api/machines included) */
  firstRenderMs: number;
  /** the server's answer to /api/machines, ms (as the browser timed it) */
  listApiMs: number;
  /** from the data in the page to the list drawn, ms */
  renderOnlyMs: number;
  /** rows in the DOM after the first render (virtualized: a screenful, not thousands) */
  rowsInDom: number;
  /** typing into the search box to the list redrawn, median and worst, ms */
  filterMedianMs: number;
  filterMaxMs: number;
  targets: { firstRenderMs: number; filterMs: number };
  ok: boolean;
}

export async function runUiBench(): Promise<UiReport> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  const count = envInt('BENCH_UI_MACHINES', 5000);
  const filters = envInt('BENCH_UI_FILTERS', 9);
  return withTestRedis(async (redis) => {
    const prefix = `uibench${process.pid}`;
    const log = createLogger({ level: 'warn', pretty: false });
    const engine = openTestEngine(redis.url, { prefix, registry: replicationRegistry({ metrics: new FerryMetrics() }), logger: log });
    const jobs = new JobStore(engine.connection, prefix);
    const scheduler = new JobScheduler(engine.connection, prefix, log);
    const token = 'bench';
    const started = performance.now();
    await pool(count, 32, (i) => startReplication(engine, { sender: `dir:/bench/s${i % 50}`, receiver: `dir:/bench/r${i}` }));
    const setupMs = performance.now() - started;
    const ui = await startUiServer({
      address: { host: '127.0.0.1', port: await freePort() }, token, orchestrator: new LocalOrchestrator({ engine, jobs, scheduler }),
      engine, redis: engine.connection, log,
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 }, extraHTTPHeaders: { authorization: `Bearer ${token}` } })).newPage();
      // a first visit warms the server's diagram and the browser's caches, as a person's second look would
      await page.goto(`${ui.url}/#/`);
      await page.waitForSelector('#jobs, #runs');
      await page.goto(`${ui.url}/#/machines?perKind=${count}`);
      await page.waitForFunction((n) => document.getElementById('machine-count')?.textContent === `${n} of ${n} machines`, count, { timeout: 120_000 }).catch(async (err: Error) => {
        // what the page showed instead: its count, or the problem it reported (a failed /api/machines)
        const seen = (await page.evaluate(`(() => [document.getElementById('machine-count')?.textContent ?? '(no count)', ...[...document.querySelectorAll('.problem')].map((p) => p.textContent)].join('; '))()`).catch(() => '(page gone)')) as string;
        throw new Error(`the machines page did not list ${count} of ${count} machines within 120 s: it showed ${JSON.stringify(seen)} (${err.message.split('\n')[0]})`);
      });
      // a string, not a function: tsx's transform would add helpers the page does not have
      const t = (await page.evaluate(`(() => {
        const api = performance.getEntriesByType('resource').find((r) => r.name.includes('/api/machines'));
        return {
          rendered: performance.getEntriesByName('ferry:machines-rendered')[0].startTime,
          loaded: performance.getEntriesByName('ferry:machines-loaded')[0].startTime,
          api: api ? api.responseEnd - api.requestStart : NaN,
          rows: document.querySelectorAll('#machine-list .vrow').length,
        };
      })()`)) as { rendered: number; loaded: number; api: number; rows: number };
      const times: number[] = [];
      const terms = ['run-', 'r1', 'Planning', 'zzz', ''];
      for (let i = 0; i < filters; i++) {
        // the redraw painted: the frame after the input handler
        times.push((await page.evaluate(`(async () => {
          const input = document.querySelector('input[name=text]');
          const t0 = performance.now();
          input.value = ${JSON.stringify(terms[i % terms.length])};
          input.dispatchEvent(new Event('input'));
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          return performance.now() - t0;
        })()`)) as number);
      }
      times.sort((a, b) => a - b);
      const filterMedianMs = round(times[Math.floor(times.length / 2)]);
      const firstRenderMs = round(t.rendered);
      return {
        machines: count, setupMs: round(setupMs), firstRenderMs, listApiMs: round(t.api), renderOnlyMs: round(t.rendered - t.loaded), rowsInDom: t.rows,
        filterMedianMs, filterMaxMs: round(times.at(-1)!),
        targets: { firstRenderMs: TARGET_FIRST_RENDER_MS, filterMs: TARGET_FILTER_MS },
        ok: firstRenderMs <= TARGET_FIRST_RENDER_MS && filterMedianMs <= TARGET_FILTER_MS,
      };
    } finally {
      await browser.close();
      await ui.close();
      await scheduler.close();
      await engine.close();
    }
  });
}

export function formatUiReport(r: UiReport): string {
  return [
    `machines in the list: ${r.machines} (started in ${r.setupMs} ms; ${r.rowsInDom} rows in the DOM)`,
    `first render: ${r.firstRenderMs} ms from navigation (server's /api/machines ${r.listApiMs} ms; browser, data to list drawn ${r.renderOnlyMs} ms); target ${r.targets.firstRenderMs} ms`,
    `filter: median ${r.filterMedianMs} ms, worst ${r.filterMaxMs} ms; target ${r.targets.filterMs} ms`,
    `result: ${passFail(r.ok)}`,
  ].join('\n');
}

runIfMain(import.meta.url, async () => {
  const report = await runUiBench();
  printReport(report, formatUiReport, (r) => JSON.stringify(r));
});
