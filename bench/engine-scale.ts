/**
 * Scale figures of the engine benchmark (bench/engine.bench.ts runs them after its rounds):
 *  - transitions/s with 1,000 busy machines among N live ones (BENCH_SCALE, default
 *    1000,10000,100000): the same load (BENCH_MACHINES x BENCH_EVENTS_PER_MACHINE) while the other
 *    machines sit idle in Redis; each count after the first is paired with a run at the first
 *    count just before it; flat is the goal (the last pair's ratio at least 0.8);
 *  - Redis memory per idle machine and per logged transition (INFO memory and MEMORY USAGE deltas);
 *  - the transition log's cap and its cost: the same load with the log capped at BENCH_SCALE_LOG_CAP
 *    entries (trimmed all through the run) against the uncapped figure, and the memory of a full log
 *    at the engine's default cap;
 *  - two worker processes against one (the bench process only sends).
 * BENCH_SCALE=0 skips the scale figures.
 */
import { envInt, round } from './lib.js';
import { DEFAULT_TRANSITION_LOG_MAX_LEN } from '../src/engine/index.js';
import type { EngineBenchOptions, EngineResult } from './engine.bench.js';

/** the engine's default cap of the transition log (EngineOptions.transitionLogMaxLen) */
export const DEFAULT_LOG_CAP = DEFAULT_TRANSITION_LOG_MAX_LEN;

export const SCALE_TARGETS = { flatRatio: 0.8 } as const;

export interface ScaleOptions {
  /** live machines per figure, ascending */
  liveMachines: number[];
  /** the capped log's cap */
  logCap: number;
}

export function defaultScaleOptions(): ScaleOptions {
  const raw = process.env.BENCH_SCALE ?? '1000,10000,100000';
  const liveMachines = raw === '0' ? [] : raw.split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0).sort((a, b) => a - b);
  if (raw !== '0' && !liveMachines.length) throw new Error(`BENCH_SCALE: ${JSON.stringify(raw)} is not a list of machine counts (e.g. 1000,10000,100000) or 0`);
  return { liveMachines, logCap: envInt('BENCH_SCALE_LOG_CAP', 1000) };
}

export interface ScalePoint {
  liveMachines: number;
  /** transitions/s over those of a run with the smallest count just before this one (1 for the smallest itself) */
  ratioToSmallest: number;
  busyMachines: number;
  transitionsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** seconds to start all the live machines, and starts/s */
  startsPerSec: number;
  perIdleMachineBytes: number;
  perLoggedTransitionBytes: number;
  usedMb: number;
  verified: boolean;
}

export interface ScaleReport {
  points: ScalePoint[];
  /** the largest count's `ratioToSmallest` */
  flatRatio: number;
  flatMet: boolean;
  logCap: {
    cap: number;
    transitionsPerSec: number;
    /** capped over the uncapped figure of the same load (the smallest scale point) */
    ratio: number;
    /** memory of a log at the engine's default cap, from the per-transition figure */
    defaultCap: number;
    defaultCapMb: number;
    verified: boolean;
  } | null;
  workerProcesses: Array<{ processes: number; transitionsPerSec: number; p50Ms: number; p99Ms: number; verified: boolean }>;
  ok: boolean;
}

type Load = (opts: Parameters<typeof import('./engine.bench.js').runEngineLoad>[1]) => Promise<EngineResult>;

/** Runs the scale figures with `load` (runEngineLoad on one Redis); `between` empties Redis after each run. */
export async function runScaleFigures(load: Load, base: EngineBenchOptions, scale: ScaleOptions, between: () => Promise<void>): Promise<ScaleReport | null> {
  if (!scale.liveMachines.length) return null;
  const common = { ...base, profile: false };
  const points: ScalePoint[] = [];
  const smallest = scale.liveMachines[0];
  for (const live of scale.liveMachines) {
    // paired with a run at the smallest count just before it, so a machine whose speed drifts (other load) weighs on both alike
    const reference = points.length ? await load({ ...common, liveMachines: smallest }) : null;
    if (reference) await between();
    const r = await load({ ...common, liveMachines: live, phaseTimeoutMs: Math.max(base.phaseTimeoutMs, 300_000) });
    await between();
    points.push({
      ratioToSmallest: reference ? round(r.transitionsPerSec / reference.transitionsPerSec, 3) : 1,
      liveMachines: r.liveMachines, busyMachines: r.machines, transitionsPerSec: r.transitionsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms,
      startsPerSec: r.startsPerSec, perIdleMachineBytes: r.memory.perIdleMachineBytes, perLoggedTransitionBytes: r.memory.perLoggedTransitionBytes,
      usedMb: r.memory.usedMb, verified: r.verified.ok,
    });
    process.stderr.write(`bench: scale ${live} live machines: ${r.transitionsPerSec} transitions/s\n`);
  }
  const first = points[0];
  const flatRatio = points[points.length - 1].ratioToSmallest;

  const capped = await load({ ...common, transitionLogMaxLen: scale.logCap });
  await between();
  const perTransition = first.perLoggedTransitionBytes;
  const logCap = {
    cap: scale.logCap, transitionsPerSec: capped.transitionsPerSec, ratio: round(capped.transitionsPerSec / first.transitionsPerSec, 3),
    defaultCap: DEFAULT_LOG_CAP, defaultCapMb: round((perTransition * DEFAULT_LOG_CAP) / 1048576, 1), verified: capped.verified.ok,
  };

  const workerProcesses: ScaleReport['workerProcesses'] = [];
  for (const processes of [1, 2]) {
    const r = await load({ ...common, workerProcesses: processes });
    await between();
    workerProcesses.push({ processes, transitionsPerSec: r.transitionsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, verified: r.verified.ok });
    process.stderr.write(`bench: ${processes} worker process(es): ${r.transitionsPerSec} transitions/s\n`);
  }
  const flatMet = points.length < 2 || flatRatio >= SCALE_TARGETS.flatRatio;
  const verified = points.every((p) => p.verified) && logCap.verified && workerProcesses.every((w) => w.verified);
  return { points, flatRatio, flatMet, logCap, workerProcesses, ok: flatMet && verified };
}

export function formatScale(s: ScaleReport): string[] {
  const lines = s.points.map((p) =>
    `scale        ${p.liveMachines} live machines (${p.busyMachines} busy): ${p.transitionsPerSec.toFixed(0)} transitions/s (${p.ratioToSmallest.toFixed(3)} of its paired run with ${s.points[0].liveMachines}), p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms; started at ${p.startsPerSec.toFixed(0)}/s; redis ${p.perIdleMachineBytes} B per idle machine, ${p.perLoggedTransitionBytes} B per logged transition, ${p.usedMb} MB used${p.verified ? '' : ' (CHECK FAILED)'}`);
  lines.push(`scale        flat: ${s.points[s.points.length - 1].liveMachines} live machines over its paired run with ${s.points[0].liveMachines} = ${s.flatRatio.toFixed(3)} (target >= ${SCALE_TARGETS.flatRatio}: ${s.flatMet ? 'PASS' : 'FAIL'})`);
  if (s.logCap) {
    const c = s.logCap;
    lines.push(`log cap      capped at ${c.cap} entries (trimmed all through the run): ${c.transitionsPerSec.toFixed(0)} transitions/s, ${c.ratio.toFixed(3)} of uncapped; a full log at the default cap of ${c.defaultCap} holds about ${c.defaultCapMb} MB${c.verified ? '' : ' (CHECK FAILED)'}`);
  }
  const [one, two] = s.workerProcesses;
  if (one && two) {
    lines.push(`processes    workers in 1 process: ${one.transitionsPerSec.toFixed(0)} transitions/s (p99 ${one.p99Ms} ms); in 2 processes: ${two.transitionsPerSec.toFixed(0)} transitions/s (p99 ${two.p99Ms} ms), ${(two.transitionsPerSec / one.transitionsPerSec).toFixed(2)}x${one.verified && two.verified ? '' : ' (CHECK FAILED)'}`);
  }
  return lines;
}
