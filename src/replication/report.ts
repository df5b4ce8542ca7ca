import type { FilesystemEntryState, ReplicationContext } from '../../machines/replication.js';
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

/** A replication run as a person (or `ferry status --json`) sees it. */
export interface Report {
  id: string;
  /** the replication machine's state: Planning, PlanningError, Working, WorkingWait, Completed, PermanentError */
  state: string;
  problem: string | null;
  /** ISO time the run resumes while every filesystem waits (WorkingWait), else null */
  sleepUntil: string | null;
  filesystems: FilesystemReport[];
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
