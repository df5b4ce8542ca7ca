/**
 * `npm run bench`: every benchmark part, one after the other, in this process.
 *
 *   engine       bench/engine.bench.ts       runEngineBench()
 *   replication  bench/replication.bench.ts  runReplicationBench()
 *   archiver     bench/archiver.bench.ts     runArchiverBench(), when that file exists
 *   startup      bench/startup.bench.ts      runStartupBench()
 *
 * BENCH_PARTS=engine,replication picks parts (default: all that exist). Each part prints its
 * human-readable figures on stdout; the LAST stdout line is one JSON object
 * `{"engine": ..., "replication": ..., "archiver": ..., "ok": ...}` with each part's full report
 * (a part that failed has `{"error": "..."}`). The parts' own knobs (env) apply as when they run alone.
 * BENCH_STRICT=1 exits 1 when a part fails or misses its target.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatReport as formatEngine, reportJson as engineJson, runEngineBench } from './engine.bench.js';
import { runIfMain } from './lib.js';
import { formatReport as formatReplication, isInterrupted, runReplicationBench } from './replication.bench.js';
import { formatStartupReport, runStartupBench } from './startup.bench.js';

const ALL_PARTS = ['engine', 'replication', 'archiver', 'startup'] as const;
type Part = (typeof ALL_PARTS)[number];

interface PartOutput {
  /** human-readable figures */
  text: string;
  /** the part's report, for the combined JSON line */
  json: unknown;
  ok: boolean;
}

const ARCHIVER_URL = new URL('./archiver.bench.ts', import.meta.url);
const ARCHIVER_FILE = fileURLToPath(ARCHIVER_URL);

/** The archiver part's module, or null when bench/archiver.bench.ts is not there (yet). */
async function loadArchiver(): Promise<Record<string, unknown> | null> {
  if (!existsSync(ARCHIVER_FILE)) return null;
  try {
    // a computed specifier: no compile-time dependency on a file another part of the tree adds
    const specifier: string = ARCHIVER_URL.href;
    return (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    // only the file itself missing counts as "no archiver part"; a broken import inside it is an error
    const e = err as NodeJS.ErrnoException & { url?: string };
    const missing = e.url === ARCHIVER_URL.href || String(e.message).startsWith(`Cannot find module '${ARCHIVER_FILE}'`);
    if (e.code === 'ERR_MODULE_NOT_FOUND' && missing) return null;
    throw err;
  }
}

const okOf = (report: unknown): boolean => (report as { ok?: unknown } | null)?.ok === true;

const runners: Record<Part, () => Promise<PartOutput | null>> = {
  async engine() {
    const report = await runEngineBench();
    return { text: formatEngine(report), json: JSON.parse(engineJson(report)), ok: report.ok };
  },
  async replication() {
    const report = await runReplicationBench();
    return { text: formatReplication(report), json: report, ok: report.ok };
  },
  async archiver() {
    const mod = await loadArchiver();
    if (!mod) return null;
    const run = mod.runArchiverBench;
    if (typeof run !== 'function') throw new Error('bench/archiver.bench.ts does not export runArchiverBench()');
    const report: unknown = await run();
    const format = [mod.formatArchiverReport, mod.formatReport].find((f): f is (r: unknown) => string => typeof f === 'function');
    const toJson = [mod.archiverReportJson, mod.reportJson].find((f): f is (r: unknown) => string => typeof f === 'function');
    return { text: format ? format(report) : JSON.stringify(report, null, 2), json: toJson ? JSON.parse(toJson(report)) : report, ok: okOf(report) };
  },
  async startup() {
    const report = await runStartupBench();
    return { text: formatStartupReport(report), json: report, ok: report.ok };
  },
};

function selectedParts(): { parts: Part[]; explicit: boolean } {
  const env = process.env.BENCH_PARTS?.trim();
  if (!env) return { parts: [...ALL_PARTS], explicit: false };
  const parts = env.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(ALL_PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_PARTS: unknown part ${JSON.stringify(p)} (${ALL_PARTS.join(', ')})`);
  }
  return { parts: parts as Part[], explicit: true };
}

export async function main(): Promise<void> {
  const { parts, explicit } = selectedParts();
  const combined: Record<string, unknown> = {};
  let ok = true;
  let interrupted = false;
  for (const part of parts) {
    if (interrupted) break;
    process.stderr.write(`bench: part ${part}...\n`);
    try {
      const out = await runners[part]();
      if (!out) {
        if (explicit) throw new Error(`the ${part} part is not available (bench/${part}.bench.ts is missing)`);
        process.stderr.write(`bench: no ${part} part (bench/${part}.bench.ts is missing): skipped\n`);
        continue;
      }
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
