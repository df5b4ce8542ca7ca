/**
 * Startup: how long `ferry` takes to load, run from the repository (TypeScript through tsx) and
 * from a tree compiled by scripts/build.mjs, against bare `node -e 0` measured in the same run.
 * `ferry --help` loads every module of the command (main.ts imports them all) and exits, so it
 * is the load time of every command. Runs alternate between the three so load on the machine
 * falls on each alike.
 *
 *   node --import tsx bench/startup.bench.ts        STARTUP_RUNS=15 (each)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { envInt, medianBy, passFail, printReport, round, runIfMain } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** the compiled tree must start in at most this share of the tsx start */
const TARGET_RATIO = 0.75;

export interface StartupReport {
  runs: number;
  /** median wall time of one start, ms */
  nodeMs: number;
  tsxMs: number;
  compiledMs: number;
  /** compiledMs / tsxMs */
  ratio: number;
  target: number;
  ok: boolean;
}

function timeOnce(args: string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'warn' } });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.toString().slice(-2000)}`);
  return ms;
}


export async function runStartupBench(): Promise<StartupReport> {
  const runs = envInt('STARTUP_RUNS', 15);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-startup-'));
  try {
    const out = join(dir, 'tree');
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    if (build.status !== 0) throw new Error(`scripts/build.mjs failed: ${build.stderr.toString().slice(-2000)}`);
    const cases = { node: ['-e', '0'], tsx: ['bin/ferry.mjs', '--help'], compiled: [join(out, 'bin/ferry.mjs'), '--help'] };
    // one warm-up each: tsx's transform cache and the file cache are warm for both
    for (const args of Object.values(cases)) timeOnce(args);
    const times: Record<keyof typeof cases, number[]> = { node: [], tsx: [], compiled: [] };
    for (let i = 0; i < runs; i++) {
      for (const [name, args] of Object.entries(cases) as Array<[keyof typeof cases, string[]]>) times[name].push(timeOnce(args));
    }
    const median = (xs: number[]) => medianBy(xs, (x) => x);
    const nodeMs = median(times.node);
    const tsxMs = median(times.tsx);
    const compiledMs = median(times.compiled);
    const ratio = compiledMs / tsxMs;
    return { runs, nodeMs: round(nodeMs), tsxMs: round(tsxMs), compiledMs: round(compiledMs), ratio: round(ratio, 2), target: TARGET_RATIO, ok: ratio <= TARGET_RATIO };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatStartupReport(r: StartupReport): string {
  return [
    `ferry --help, median of ${r.runs} starts each:`,
    `  node -e 0 (baseline)      ${r.nodeMs} ms`,
    `  through tsx (repository)  ${r.tsxMs} ms`,
    `  compiled (npm run build)  ${r.compiledMs} ms`,
    `  compiled / tsx            ${r.ratio}  (target <= ${r.target}: ${passFail(r.ok)})`,
  ].join('\n');
}

export const startupReportJson = (r: StartupReport): string => JSON.stringify(r);

runIfMain(import.meta.url, async () => printReport(await runStartupBench(), formatStartupReport, startupReportJson));
