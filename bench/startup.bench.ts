/**
 * Startup: how long `ferry` takes to start, against bare `node -e 0` measured in the same run:
 * `ferry --help` run from the source (TypeScript through tsx, FERRY_FROM_SOURCE=1) and from a tree
 * compiled by scripts/build.mjs; and, as the README says to start it after `npm ci` (which builds
 * that tree: `node bin/ferry.mjs`), `ferry --help` and `ferry status` against a running Redis
 * holding one finished run. `--help` loads commander and the command definitions only (each command
 * imports what it uses); `status` opens Redis and reads the records with plain commands (no Engine,
 * no BullMQ: src/cli/read-app.ts). Runs alternate between the cases so load on the machine falls on
 * each alike; the ratios to node are the medians of each round's own ratio.
 *
 *   node --import tsx bench/startup.bench.ts        STARTUP_RUNS=15 (each)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { envInt, medianBy, passFail, printReport, round, runIfMain, withTestRedis } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** the compiled tree must start in at most this share of the tsx start */
const TARGET_RATIO = 0.75;
/** `ferry --help` and `ferry status` (compiled, as after npm ci) within these multiples of bare node */
const TARGET_HELP_VS_NODE = 2.5;
const TARGET_STATUS_VS_NODE = 4;

export interface StartupReport {
  runs: number;
  /** median wall time of one start, ms */
  nodeMs: number;
  tsxMs: number;
  compiledMs: number;
  /** compiledMs / tsxMs */
  ratio: number;
  target: number;
  /** `ferry --help` and `ferry status` (Redis running) started as the README says, compiled */
  helpMs: number;
  statusMs: number;
  /** median over the rounds of the round's --help (status) time / its node time */
  helpVsNode: number;
  statusVsNode: number;
  targets: { helpVsNode: number; statusVsNode: number };
  ok: boolean;
}

function timeOnce(args: string[], env: Record<string, string> = {}): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env } });
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
    // and dist/, as npm ci builds it: `node bin/ferry.mjs` checks it is fresh and runs it, as the README says
    const dist = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    if (dist.status !== 0) throw new Error(`scripts/build.mjs (dist/) failed: ${dist.stderr.toString().slice(-2000)}`);
    return await withTestRedis(async (redis) => {
      const fromSource = { FERRY_FROM_SOURCE: '1' };
      const asReadme = { FERRY_FROM_SOURCE: '' };
      const redisEnv = { ...asReadme, REDIS_URL: redis.url };
      // one finished run for `status` to read, as after a first `ferry replicate`
      const [sender, receiver] = [join(dir, 'a'), join(dir, 'b')];
      mkdirSync(join(sender, 'fs1'), { recursive: true });
      mkdirSync(receiver);
      writeFileSync(join(sender, 'fs1', 'f.txt'), 'data\n');
      timeOnce(['bin/ferry.mjs', 'snapshot', `dir:${sender}`, '--name', 's1'], redisEnv);
      timeOnce(['bin/ferry.mjs', 'replicate', `dir:${sender}`, `dir:${receiver}`], redisEnv);
      const cases: Record<string, [string[], Record<string, string>]> = {
        node: [['-e', '0'], {}],
        tsx: [['bin/ferry.mjs', '--help'], fromSource],
        compiled: [[join(out, 'bin/ferry.mjs'), '--help'], {}],
        // the repository's launcher, with its freshness check of dist/: what `npx ferry` runs after npm ci
        help: [['bin/ferry.mjs', '--help'], asReadme],
        status: [['bin/ferry.mjs', 'status'], redisEnv],
      };
      // one warm-up each: tsx's transform cache and the file cache are warm for all
      for (const [args, env] of Object.values(cases)) timeOnce(args, env);
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
      for (let i = 0; i < runs; i++) {
        for (const [name, [args, env]] of Object.entries(cases)) times[name].push(timeOnce(args, env));
      }
      const median = (xs: number[]) => medianBy(xs, (x) => x);
      const [nodeMs, tsxMs, compiledMs, helpMs, statusMs] = ['node', 'tsx', 'compiled', 'help', 'status'].map((k) => median(times[k]));
      const ratio = compiledMs / tsxMs;
      // paired: a round's cases ran back to back, under the same load
      const vsNode = (k: string) => median(times[k].map((ms, i) => ms / times.node[i]));
      const helpVsNode = vsNode('help');
      const statusVsNode = vsNode('status');
      return {
        runs, nodeMs: round(nodeMs), tsxMs: round(tsxMs), compiledMs: round(compiledMs), ratio: round(ratio, 2), target: TARGET_RATIO,
        helpMs: round(helpMs), statusMs: round(statusMs), helpVsNode: round(helpVsNode, 2), statusVsNode: round(statusVsNode, 2),
        targets: { helpVsNode: TARGET_HELP_VS_NODE, statusVsNode: TARGET_STATUS_VS_NODE },
        ok: ratio <= TARGET_RATIO && helpVsNode <= TARGET_HELP_VS_NODE && statusVsNode <= TARGET_STATUS_VS_NODE,
      };
    });
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
    `  compiled / tsx            ${r.ratio}  (target <= ${r.target}: ${passFail(r.ratio <= r.target)})`,
    `  ferry --help (README)     ${r.helpMs} ms`,
    `  --help / node             ${r.helpVsNode}  (median of rounds; target <= ${r.targets.helpVsNode}: ${passFail(r.helpVsNode <= r.targets.helpVsNode)})`,
    `  ferry status (Redis up)   ${r.statusMs} ms`,
    `  status / node             ${r.statusVsNode}  (median of rounds; target <= ${r.targets.statusVsNode}: ${passFail(r.statusVsNode <= r.targets.statusVsNode)})`,
  ].join('\n');
}

export const startupReportJson = (r: StartupReport): string => JSON.stringify(r);

runIfMain(import.meta.url, async () => printReport(await runStartupBench(), formatStartupReport, startupReportJson));
