/**
 * `npm run bench`: every benchmark part, one after the other, in this process.
 *
 *   engine       bench/engine.bench.ts       runEngineBench()
 *   replication  bench/replication.bench.ts  runReplicationBench()
 *   archiver     bench/archiver.bench.ts     runArchiverBench()
 *   startup      bench/startup.bench.ts      runStartupBench()
 *   pruning      bench/pruning.bench.ts      runPruningBench()
 *   ui           bench/ui.bench.ts           runUiBench()   (headless chromium)
 *   planning     bench/planning.bench.ts     runPlanningBench()
 *   peers        bench/peers.bench.ts        runPeersBench()
 *   replica-wait bench/replica-wait.bench.ts runReplicaWaitBench()
 *
 * BENCH_PARTS=engine,replication picks parts (default: all). Each part prints its
 * human-readable figures on stdout; the LAST stdout line is one JSON object
 * `{"engine": ..., "replication": ..., "archiver": ..., "ok": ...}` with each part's full report
 * (a part that failed has `{"error": "..."}`). The parts' own knobs (env) apply as when they run alone.
 * BENCH_STRICT=1 exits 1 when a part fails or misses its target.
 */
import { archiverReportJson, formatArchiverReport, runArchiverBench } from './archiver.bench.js';
import { formatReport as formatEngine, reportJson as engineJson, runEngineBench } from './engine.bench.js';
import { runIfMain } from './lib.js';
import { formatPruningReport, runPruningBench } from './pruning.bench.js';
import { formatPlanningReport, runPlanningBench } from './planning.bench.js';
import { formatPeersReport, runPeersBench } from './peers.bench.js';
import { formatReport as formatReplication, isInterrupted, runReplicationBench } from './replication.bench.js';
import { formatStartupReport, runStartupBench } from './startup.bench.js';
import { formatReplicaWaitReport, runReplicaWaitBench } from './replica-wait.bench.js';
import { formatUiReport, runUiBench } from './ui.bench.js';

const ALL_PARTS = ['engine', 'replication', 'archiver', 'startup', 'pruning', 'planning', 'peers', 'ui', 'replica-wait'] as const;
type Part = (typeof ALL_PARTS)[number];

interface PartOutput {
  /** human-readable figures */
  text: string;
  /** the part's report, for the combined JSON line */
  json: unknown;
  ok: boolean;
}

const runners: Record<Part, () => Promise<PartOutput>> = {
  async engine() {
    const report = await runEngineBench();
    return { text: formatEngine(report), json: JSON.parse(engineJson(report)), ok: report.ok };
  },
  async replication() {
    const report = await runReplicationBench();
    return { text: formatReplication(report), json: report, ok: report.ok };
  },
  async archiver() {
    const report = await runArchiverBench();
    return { text: formatArchiverReport(report), json: JSON.parse(archiverReportJson(report)), ok: report.ok };
  },
  async startup() {
    const report = await runStartupBench();
    return { text: formatStartupReport(report), json: report, ok: report.ok };
  },
  async pruning() {
    const report = await runPruningBench();
    return { text: formatPruningReport(report), json: report, ok: report.ok };
  },
  async ui() {
    const report = await runUiBench();
    return { text: formatUiReport(report), json: report, ok: report.ok };
  },
  async planning() {
    const report = await runPlanningBench();
    return { text: formatPlanningReport(report), json: report, ok: report.ok };
  },
  async peers() {
    const report = await runPeersBench();
    return { text: formatPeersReport(report), json: report, ok: report.ok };
  },
  async 'replica-wait'() {
    const report = await runReplicaWaitBench();
    return { text: formatReplicaWaitReport(report), json: report, ok: report.ok };
  },
};

function selectedParts(): Part[] {
  const env = process.env.BENCH_PARTS?.trim();
  if (!env) return [...ALL_PARTS];
  const parts = env.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(ALL_PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_PARTS: unknown part ${JSON.stringify(p)} (${ALL_PARTS.join(', ')})`);
  }
  return parts as Part[];
}

export async function main(): Promise<void> {
  const parts = selectedParts();
  const combined: Record<string, unknown> = {};
  let ok = true;
  let interrupted = false;
  for (const part of parts) {
    if (interrupted) break;
    process.stderr.write(`bench: part ${part}...\n`);
    try {
      const out = await runners[part]();
      process.stdout.write(`== ${part} ==\n${out.text}\n`);
      combined[part] = out.json;
      ok &&= out.ok;
    } catch (err) {
      interrupted = isInterrupted(err);
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`bench: part ${part} failed: ${err instanceof Error ? err.stack ?? message : message}\n`);
      process.stdout.write(`== ${part} ==\nFAILED: ${message}\n`);
      combined[part] = { error: message };
      ok = false;
    }
  }
  process.stdout.write(`${JSON.stringify({ ...combined, ok })}\n`);
  if (interrupted) process.exitCode = 130;
  else if (!ok && process.env.BENCH_STRICT === '1') process.exitCode = 1;
}

runIfMain(import.meta.url, main);
