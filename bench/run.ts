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
import { runIfMain } from './lib.js';

const ALL_PARTS = ['engine', 'replication', 'archiver', 'startup', 'pruning', 'planning', 'peers', 'ui', 'replica-wait'] as const;
type Part = (typeof ALL_PARTS)[number];

interface PartOutput {
  /** human-readable figures */
  text: string;
  /** the part's report, for the combined JSON line */
  json: unknown;
  ok: boolean;
}

// each part is imported when it runs: the chromium driver of the ui part, say, would otherwise sit in
// the memory of every part's process, and a bigger process forks its commands more slowly
const runners: Record<Part, () => Promise<PartOutput>> = {
  async engine() {
    const { formatReport, reportJson, runEngineBench } = await import('./engine.bench.js');
    const report = await runEngineBench();
    return { text: formatReport(report), json: JSON.parse(reportJson(report)), ok: report.ok };
  },
  async replication() {
    const { formatReport, runReplicationBench } = await import('./replication.bench.js');
    const report = await runReplicationBench();
    return { text: formatReport(report), json: report, ok: report.ok };
  },
  async archiver() {
    const { archiverReportJson, formatArchiverReport, runArchiverBench } = await import('./archiver.bench.js');
    const report = await runArchiverBench();
    return { text: formatArchiverReport(report), json: JSON.parse(archiverReportJson(report)), ok: report.ok };
  },
  async startup() {
    const { formatStartupReport, runStartupBench } = await import('./startup.bench.js');
    const report = await runStartupBench();
    return { text: formatStartupReport(report), json: report, ok: report.ok };
  },
  async pruning() {
    const { formatPruningReport, runPruningBench } = await import('./pruning.bench.js');
    const report = await runPruningBench();
    return { text: formatPruningReport(report), json: report, ok: report.ok };
  },
  async ui() {
    const { formatUiReport, runUiBench } = await import('./ui.bench.js');
    const report = await runUiBench();
    return { text: formatUiReport(report), json: report, ok: report.ok };
  },
  async planning() {
    const { formatPlanningReport, runPlanningBench } = await import('./planning.bench.js');
    const report = await runPlanningBench();
    return { text: formatPlanningReport(report), json: report, ok: report.ok };
  },
  async peers() {
    const { formatPeersReport, runPeersBench } = await import('./peers.bench.js');
    const report = await runPeersBench();
    return { text: formatPeersReport(report), json: report, ok: report.ok };
  },
  async 'replica-wait'() {
    const { formatReplicaWaitReport, runReplicaWaitBench } = await import('./replica-wait.bench.js');
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
      // only the replication part stops on Ctrl-C with an error of its own
      interrupted = part === 'replication' && (await import('./replication.bench.js')).isInterrupted(err);
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
