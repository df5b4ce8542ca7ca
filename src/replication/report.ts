import type { FilesystemEntryState, ReplicationContext } from '../../machines/replication.js';
import { coveredMs } from '../../machines/timing.js';
import type { EngineReader, MachineSnapshotView } from '../engine/engine-reader.js';
import type { EffectProgress } from '../engine/types.js';
import { stateName } from '../util/state-name.js';
import { isoOrNull } from '../util/time.js';

/** One filesystem of a replication report. */
export interface FilesystemReport {
  name: string;
  /** 'Pending' (not started), or the filesystem machine's state */
  state: FilesystemEntryState;
  stepsDone: number;
  stepsTotal: number;
  /** bytes of completed steps, plus the running step's progress when `live` has it */
  bytes: number;
  problem: string | null;
  /** ISO time of the next retry while the filesystem waits, else null */
  sleepUntil: string | null;
  /** the running step, while one runs: bytes so far, expected total and estimated seconds left when known */
  currentStep?: { index: number; bytes: number; total: number | null; etaSeconds: number | null };
}

/**
 * Where a run's time went (docs/replication.md, "Latency per run"): the run's wall time from its
 * creation to its end (or now), the successful planning, the steps (summed over filesystems), and
 * the rest, the engine's overhead: the wall time when neither planning nor any step ran.
 */
export interface RunTiming {
  wallMs: number;
  planningMs: number;
  stepsMs: number;
  engineMs: number;
}

/** Pure: the run's timing from its context and its record's times (epoch ms); null when its creation time is unknown. */
export function runTiming(context: ReplicationContext, createdAt: number, endedAt: number): RunTiming | null {
  if (!(createdAt > 0) || !(endedAt >= createdAt)) return null;
  const wallMs = endedAt - createdAt;
  const planningMs = context.planningMs ?? 0;
  const spans: Array<[number, number]> = [];
  let stepsMs = 0;
  for (const e of context.filesystems ?? []) {
    stepsMs += e.timing?.stepsMs ?? 0;
    if (e.timing?.stepsFrom != null && e.timing.stepsUntil != null) spans.push([e.timing.stepsFrom, e.timing.stepsUntil]);
  }
  return { wallMs, planningMs, stepsMs, engineMs: Math.max(0, wallMs - planningMs - coveredMs(spans)) };
}

/** A replication run as a person (or `ferry status --json`) sees it. */
export interface Report {
  id: string;
  /** the replication machine's state: Planning, PlanningError, Working, WorkingWait, Completed, PermanentError */
  state: string;
  problem: string | null;
  /** ISO time the run resumes while every filesystem waits (WorkingWait), else null */
  sleepUntil: string | null;
  filesystems: FilesystemReport[];
  /** where the time went; absent when the run's creation time is unknown (records of older versions) */
  timing?: RunTiming;
}

/** What the report needs of a replication machine snapshot (live or persisted). */
export interface ReplicationSnapshotLike {
  value: unknown;
  context: ReplicationContext;
  status: string;
  /** set by XState when status is 'error' */
  error?: unknown;
}

/** Progress of running effects per child id (`fs-<index>`), e.g. from the engine's watchdog. */
export type LiveProgress = Record<string, { bytes?: number } | undefined>;

/**
 * Pure: the report of one replication run from its machine snapshot. `live` adds the bytes that the
 * running steps have moved so far to the filesystems still working.
 */
export function replicationReport(id: string, snapshot: ReplicationSnapshotLike, live?: LiveProgress): Report {
  const state = stateName(snapshot.value);
  const entries = snapshot.context?.filesystems ?? [];
  const filesystems = entries.map((e): FilesystemReport => {
    const running = !e.done && e.state === 'Working';
    const extra = running ? live?.[e.childId]?.bytes : undefined;
    return {
      name: e.name,
      state: e.state,
      stepsDone: e.stepsDone,
      stepsTotal: e.stepsTotal,
      bytes: e.bytes + (typeof extra === 'number' && Number.isFinite(extra) && extra > 0 ? extra : 0),
      problem: e.problem,
      sleepUntil: !e.done && e.state === 'WorkingWait' ? isoOrNull(e.sleepUntil) : null,
    };
  });

  let sleepUntil: string | null = null;
  if (state === 'WorkingWait') {
    const times = entries
      .filter((e) => !e.done && e.state === 'WorkingWait' && typeof e.sleepUntil === 'number')
      .map((e) => e.sleepUntil as number);
    if (times.length > 0) sleepUntil = isoOrNull(Math.min(...times));
  }

  let problem = snapshot.context?.problem ?? null;
  if (snapshot.status === 'error') {
    const err = snapshot.error as { message?: unknown } | undefined;
    const message = typeof err?.message === 'string' ? err.message : String(snapshot.error);
    problem = `replication machine failed: ${message}`;
  }

  return {
    id,
    state,
    problem,
    sleepUntil,
    filesystems,
  };
}

/** Seconds left at the step's average rate so far, when its size is known. */
export function eta(p: EffectProgress): number | null {
  if (!p.total || !p.bytes || !p.startedAt || p.at <= p.startedAt) return null;
  const rate = p.bytes / ((p.at - p.startedAt) / 1000);
  return Math.max(0, Math.round((p.total - p.bytes) / rate));
}

/**
 * The report of a run, with the live bytes of steps still running; `read` is the run's snapshot when
 * the caller has it. Reads records only (an EngineReader or the Engine): `ferry status` needs no BullMQ.
 */
export async function runReport(engine: Pick<EngineReader, 'snapshotOf'>, runId: string, read?: MachineSnapshotView | null): Promise<Report | null> {
  const s = read ?? (await engine.snapshotOf(runId));
  if (!s) return null;
  const ctx = s.context as ReplicationContext;
  const report = replicationReport(runId, { value: s.value, context: ctx, status: s.status });
  const timing = runTiming(ctx, s.record.createdAt, s.status === 'active' ? Date.now() : s.record.stateSince);
  if (timing) report.timing = timing;
  if (s.status !== 'active') return report;
  // the parent hears of its children on state changes only: take steps and bytes from running children
  await Promise.all(ctx.filesystems.map(async (entry, i) => {
    if (entry.done || entry.state === 'Pending') return;
    const child = await engine.snapshotOf(`${runId}.${entry.childId}`);
    if (!child) return;
    const fs = report.filesystems[i];
    fs.stepsDone = child.context.stepsDone;
    fs.state = stateName(child.value) as typeof fs.state;
    const p = child.record.progress.step;
    fs.bytes = child.context.bytes + (p?.bytes ?? 0);
    if (p && fs.state === 'Working') fs.currentStep = { index: fs.stepsDone, bytes: p.bytes ?? 0, total: p.total ?? null, etaSeconds: eta(p) };
  }));
  return report;
}
