/**
 * Pruning planning: `planPruning` (src/retention/plan.ts) over 100 filesystems × 10,000 snapshots
 * with a typical sender policy, against a plain sort + filter over the same data measured in the
 * same run. Pure CPU: no Redis, no storage.
 *
 *   node --import tsx bench/pruning.bench.ts        (or BENCH_PARTS=pruning npm run bench)
 */
import { performance } from 'node:perf_hooks';
import { planPruning, type PlanInput, type SnapshotInfo } from '../src/retention/plan.js';
import type { KeepRule } from '../src/retention/rules.js';
import { compactUtcStamp } from '../src/util/time.js';
import { envInt, medianBy, passFail, printReport, round, runIfMain } from './lib.js';

const PREFIX = 'ferry';
/** zrepl's docs' sender example, with ferry's prefix */
const RULES: KeepRule[] = [
  { type: 'not_replicated' },
  { type: 'grid', grid: '1x1h(keep=all) | 24x1h | 35x1d | 6x30d' },
  { type: 'regex', regex: '^manual_' },
];
const EVERY_MS = 10 * 60_000;
const NOW = Date.UTC(2026, 5, 1);
/** planning all filesystems must take at most this long, ms */
const TARGET_MS = 2000;

export interface PruningReport {
  filesystems: number;
  snapshotsPerFilesystem: number;
  rounds: number;
  grid: string;
  /** median wall time to plan every filesystem, ms */
  planMs: number;
  /** median wall time of the baseline (copy, sort by time, filter by prefix) over the same data, ms */
  baselineMs: number;
  /** planMs / baselineMs */
  ratio: number;
  kept: number;
  destroyed: number;
  target: { planMs: number };
  ok: boolean;
}

/** One filesystem's history, oldest first as `zfs list` gives it: one snapshot every 10 minutes, a manual one now and then, the newest 3 not yet replicated. */
function history(fs: number, count: number): PlanInput {
  const snapshots: SnapshotInfo[] = [];
  // filesystems start a few seconds apart so no two histories are identical
  const newest = NOW - fs * 7_000;
  for (let i = count - 1; i >= 0; i--) {
    const createdAt = newest - i * EVERY_MS;
    const name = i % 1000 === 500 ? `manual_${i}` : `${PREFIX}_${compactUtcStamp(new Date(createdAt))}`;
    snapshots.push({ name, createdAt });
  }
  const replicatedToAll = new Set(snapshots.slice(0, -3).map((s) => s.name));
  return { snapshots, rules: RULES, prefix: PREFIX, replicatedToAll, now: NOW };
}

/** What any planner must at least do: order one filesystem's snapshots by time and pick ferry's own. */
function baseline(input: PlanInput): number {
  const own = `${input.prefix}_`;
  return [...input.snapshots].sort((a, b) => b.createdAt - a.createdAt).filter((s) => s.name.startsWith(own)).length;
}

function timed(fn: () => void): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

export async function runPruningBench(): Promise<PruningReport> {
  const filesystems = envInt('BENCH_PRUNING_FILESYSTEMS', 100);
  const perFs = envInt('BENCH_PRUNING_SNAPSHOTS', 10_000);
  const rounds = envInt('BENCH_PRUNING_ROUNDS', 5);
  const inputs = Array.from({ length: filesystems }, (_, fs) => history(fs, perFs));

  let kept = 0;
  let destroyed = 0;
  const planAll = () => {
    kept = 0;
    destroyed = 0;
    for (const input of inputs) {
      const r = planPruning(input);
      kept += r.keep.length;
      destroyed += r.destroy.length;
    }
  };
  let sink = 0;
  const baselineAll = () => {
    for (const input of inputs) sink += baseline(input);
  };
  // warm-up (JIT), then alternate so load on the machine falls on both alike
  planAll();
  baselineAll();
  const plans: number[] = [];
  const bases: number[] = [];
  for (let i = 0; i < rounds; i++) {
    bases.push(timed(baselineAll));
    plans.push(timed(planAll));
  }
  if (sink === 0 || kept + destroyed !== filesystems * perFs) throw new Error(`planner lost snapshots: ${kept} kept + ${destroyed} destroyed of ${filesystems * perFs}`);
  const planMs = medianBy(plans, (x) => x);
  const baselineMs = medianBy(bases, (x) => x);
  return {
    filesystems, snapshotsPerFilesystem: perFs, rounds, grid: (RULES[1] as { grid: string }).grid,
    planMs: round(planMs), baselineMs: round(baselineMs), ratio: round(planMs / baselineMs, 2),
    kept, destroyed, target: { planMs: TARGET_MS }, ok: planMs <= TARGET_MS,
  };
}

export function formatPruningReport(r: PruningReport): string {
  return [
    `pruning planning, ${r.filesystems} filesystems × ${r.snapshotsPerFilesystem} snapshots (not_replicated | grid ${r.grid} | regex), median of ${r.rounds}:`,
    `  baseline (sort + filter)  ${r.baselineMs} ms`,
    `  planPruning               ${r.planMs} ms  (target <= ${r.target.planMs} ms: ${passFail(r.ok)})`,
    `  planner / baseline        ${r.ratio}`,
    `  kept ${r.kept}, destroyed ${r.destroyed}`,
  ].join('\n');
}

export const pruningReportJson = (r: PruningReport): string => JSON.stringify(r);

runIfMain(import.meta.url, async () => printReport(await runPruningBench(), formatPruningReport, pruningReportJson));
