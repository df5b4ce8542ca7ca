/**
 * `npm run chaos`: ferry's fault-injection suite (docs/chaos.md). Runs the scenarios one after the
 * other within a time budget, prints what it does on stderr, then on stdout a table of figures with
 * their targets and, as the last line, one JSON object of all figures plus `ok`. Exits 1 when a
 * must-be-zero figure is not 0 or a scenario could not run to its end.
 *
 *   --budget <seconds>   total time (default 420; each scenario gets its share)
 *   --seed <n>           seed of every random choice (default: random, printed)
 *   --only <a,b>         only these scenarios (see --list)
 *   --scale <f>          multiply the data sizes (default 1; the test uses 0.05)
 *   --list               print the scenarios and exit
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { ChaosEnv } from './env.js';
import { Figures, INFORMATIONAL, MUST_BE_ZERO, type FigureName } from './figures.js';
import { Rng } from './random.js';
import type { Scenario } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

export const DEFAULT_BUDGET_S = 420;
/** of a scenario's slot, the part spent injecting faults; the rest is for runs to settle and be checked */
const FAULT_PART = 0.6;

export interface ChaosOptions {
  budgetS: number;
  scale: number;
  seed: number;
  only: string[];
}

export interface ChaosReport {
  seed: number;
  budgetS: number;
  durationS: number;
  scenarios: Record<string, { durationS: number; error?: string }>;
  figures: Record<FigureName, number>;
  evidence: Partial<Record<FigureName, string[]>>;
  ok: boolean;
}

export function parseOptions(argv: string[]): ChaosOptions & { list: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: { budget: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' }, scale: { type: 'string' }, list: { type: 'boolean' } },
    strict: true,
  });
  const budgetS = values.budget === undefined ? DEFAULT_BUDGET_S : Number(values.budget);
  if (!Number.isFinite(budgetS) || budgetS <= 0) throw new Error(`--budget: a positive number of seconds, got ${JSON.stringify(values.budget)}`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: a non-negative integer, got ${JSON.stringify(values.seed)}`);
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`--scale: a positive number, got ${JSON.stringify(values.scale)}`);
  const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : [];
  for (const name of only) {
    if (!SCENARIOS.some((s) => s.name === name)) throw new Error(`--only: unknown scenario ${JSON.stringify(name)} (${SCENARIOS.map((s) => s.name).join(', ')})`);
  }
  return { budgetS, seed, only, scale, list: !!values.list };
}

/** Runs the selected scenarios; `log` gets progress lines. */
export async function runChaos(opts: ChaosOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<ChaosReport> {
  const scenarios: Scenario[] = opts.only.length ? SCENARIOS.filter((s) => opts.only.includes(s.name)) : SCENARIOS;
  const figures = new Figures();
  const rng = new Rng(opts.seed);
  const started = Date.now();
  const end = started + opts.budgetS * 1000;
  const report: ChaosReport['scenarios'] = {};
  log(`chaos: seed ${opts.seed}, budget ${opts.budgetS} s, scenarios ${scenarios.map((s) => s.name).join(', ')}`);
  for (const [i, s] of scenarios.entries()) {
    const sharesLeft = scenarios.slice(i).reduce((a, x) => a + x.share, 0);
    const slot = Math.max(0, end - Date.now()) * (s.share / sharesLeft);
    const t0 = Date.now();
    log(`chaos: == ${s.name}: ${s.title} (${Math.round(slot / 1000)} s)`);
    try {
      await s.run({ rng: rng.fork(s.name), figures, deadline: t0 + slot * FAULT_PART, scale: opts.scale, log: (l) => log(`chaos: ${s.name}: ${l}`) });
      report[s.name] = { durationS: Math.round((Date.now() - t0) / 1000) };
    } catch (err) {
      const message = err instanceof Error ? err.stack ?? err.message : String(err);
      log(`chaos: ${s.name} FAILED: ${message}`);
      report[s.name] = { durationS: Math.round((Date.now() - t0) / 1000), error: err instanceof Error ? err.message : String(err) };
    }
  }
  const ok = figures.ok && Object.values(report).every((r) => !r.error);
  return {
    seed: opts.seed, budgetS: opts.budgetS, durationS: Math.round((Date.now() - started) / 1000),
    scenarios: report, figures: figures.values, evidence: figures.evidence, ok,
  };
}

/** The human-readable table: every figure, its target and verdict; then the evidence of the failing ones. */
export function formatReport(r: ChaosReport): string {
  const rows: string[][] = [['FIGURE', 'VALUE', 'TARGET', '']];
  for (const name of Object.keys(MUST_BE_ZERO) as FigureName[]) rows.push([name, String(r.figures[name]), '0', r.figures[name] === 0 ? 'PASS' : 'FAIL']);
  for (const name of Object.keys(INFORMATIONAL) as FigureName[]) rows.push([name, String(r.figures[name]), '-', '']);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  const out = [`seed ${r.seed}, ${r.durationS} s of ${r.budgetS} s budget`, ...lines];
  for (const [name, s] of Object.entries(r.scenarios)) out.push(`scenario ${name}: ${s.durationS} s${s.error ? `, FAILED: ${s.error}` : ''}`);
  for (const [name, list] of Object.entries(r.evidence)) {
    out.push(`${name}:`);
    for (const e of list!) out.push(`  - ${e}`);
  }
  out.push(r.ok ? 'ok: every must-be-zero figure is 0' : 'NOT ok: see the FAIL lines above');
  return out.join('\n');
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(16)} ${s.title}\n`);
    return;
  }
  let interrupted = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted++;
    process.stderr.write(`chaos: ${sig}: stopping every process started and removing temp dirs\n`);
    if (interrupted > 1) {
      for (const env of ChaosEnv.open) env.procs.killAll();
      process.exit(130);
    }
    Promise.all([...ChaosEnv.open].map((e) => e.close())).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const report = await runChaos(opts);
  process.stdout.write(`${formatReport(report)}\n${JSON.stringify(report)}\n`);
  if (!report.ok) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
