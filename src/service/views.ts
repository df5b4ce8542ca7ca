import type { PartitionStatus } from '../archiver/coordinator.js';
import type { PartitionReset, PartitionSelector } from '../archiver/partition-select.js';
import type { TransitionEvent } from '../engine/types.js';
import type { JobSpec } from '../jobs/spec.js';
import type { PruneReport } from '../jobs/prune.js';
import type { FilesystemReport, RunTiming } from '../replication/report.js';

/**
 * What the orchestrator answers, as plain objects: the CLI prints them whether it talks to Redis
 * itself or to `ferry serve` over gRPC (src/api/orchestrator-*.ts map them to and from messages).
 */
export interface JobView {
  spec: JobSpec;
  /** ISO time */
  createdAt: string;
  /** the latest invocation's id, or null */
  lastRun: string | null;
  /** ISO time of the next scheduled firing, or null */
  nextRunAt: string | null;
}

export interface RunView {
  id: string;
  kind: 'job' | 'replication';
  state: string;
  problem: string | null;
  /** the job of an invocation (or of the invocation a replication belongs to); null for ad-hoc runs */
  job: string | null;
  sender: string;
  /** a replication's receiver; null for an invocation */
  receiver: string | null;
  bytes: number;
  /** ISO time; null when not known (replications of an invocation) */
  createdAt: string | null;
  /** the snapshot an invocation took first, or null */
  snapshot: string | null;
  /** an invocation's replications, one per receiver */
  replications: RunView[];
  /** a replication's filesystems */
  filesystems: FilesystemReport[];
  /** a replication's timing (planning, steps, engine overhead), as `ferry replicate --json` reports it; absent over --server */
  timing?: RunTiming;
  /** an invocation's pruning machines, one per side with keep rules (absent from older servers: none) */
  prunings?: PruningView[];
}

/** One pruning machine of an invocation, as `ferry status` shows it. */
export interface PruningView {
  id: string;
  side: 'sender' | 'receiver';
  endpoint: string;
  /** Pending, Plan, PlanErr, Exec, ExecErr, Done, PermanentError */
  state: string;
  /** destroyed so far (a dry run: that would be destroyed) */
  destroyed: number;
  kept: number;
  problem: string | null;
}

/** One storage target (agent) as the health checker last saw it. */
export interface TargetView {
  target: string;
  healthy: boolean;
  /** ISO time of the last change */
  since: string;
  failures: number;
  lastError: string | null;
  /** ISO time of the next check, or null */
  nextCheckAt: string | null;
}

export interface WatchFilter {
  kinds?: string[];
  /** machines and their descendants */
  machineIds?: string[];
  /** resume after this id; undefined or "" = from now; "0" = from the oldest kept */
  afterId?: string;
}

export type { PartitionReset, PartitionSelector, PartitionStatus, TransitionEvent };

/** The kinds of machine ferry runs (the registries of jobs, replication and the archiver), as a watch filter names them. */
export const MACHINE_KINDS = ['job', 'replication', 'filesystem', 'pruning', 'partition'] as const;

/** Pure: why a watch filter's kinds are not machine kinds (naming the first that is not), or null. */
export function watchKindsProblem(kinds: readonly string[] | undefined): string | null {
  const bad = (kinds ?? []).find((k) => !(MACHINE_KINDS as readonly string[]).includes(k));
  return bad === undefined ? null : `${JSON.stringify(bad)} is not a machine kind: use ${MACHINE_KINDS.join(', ')}`;
}

/** Pure: whether a transition passes a watch filter. */
export function matchesFilter(e: TransitionEvent, f: WatchFilter): boolean {
  if (f.kinds?.length && !f.kinds.includes(e.kind)) return false;
  if (f.machineIds?.length && !f.machineIds.some((id) => e.machineId === id || e.machineId.startsWith(`${id}.`))) return false;
  return true;
}

/** A pruning invocation's report, and whether it has finished (its lists are then complete). */
export type PruneReportView = PruneReport & { finished: boolean };

/** The orchestrator's operations; implemented locally (Redis) and by the gRPC client. */
export interface Orchestrator {
  createJob(spec: Partial<JobSpec>, opts?: { replace?: boolean }): Promise<JobView>;
  getJob(name: string): Promise<JobView>;
  listJobs(): Promise<JobView[]>;
  deleteJob(name: string): Promise<void>;
  runJob(name: string): Promise<{ runId: string; started: boolean }>;
  signalJob(name: string, signal: string): Promise<{ outcome: string; machines: string[] }>;
  /** starts an on-demand pruning of the job (`ferry prune`); its report by getPruneReport */
  pruneJob(name: string, opts?: { dryRun?: boolean }): Promise<{ runId: string }>;
  /** what a pruning invocation destroyed (or would) and kept so far; `finished` once it ended */
  getPruneReport(runId: string): Promise<PruneReportView>;
  getRun(id: string): Promise<RunView>;
  listRuns(opts?: { job?: string; limit?: number }): Promise<RunView[]>;
  listTargets(): Promise<TargetView[]>;
  /** `consumer`: the position the archiver moves in the log source; default: derived from the sink */
  notifyLogEntries(log: string, sink: string, consumer?: string): Promise<number>;
  /** the one archiver of a partition; `consumer`, `sink` and `log` pick one when several archive it */
  getPartition(sel: PartitionSelector): Promise<PartitionStatus>;
  listPartitions(): Promise<PartitionStatus[]>;
  /** resumes a Failed archiver (selected as by getPartition) after a person fixed the cause */
  resetPartition(sel: PartitionSelector): Promise<PartitionReset>;
  /** calls onEvent for every matching transition until the signal aborts */
  watchTransitions(filter: WatchFilter, onEvent: (e: TransitionEvent) => void | Promise<void>, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The orchestrator's reads of runs and agents: what `ferry status` needs (service/run-views.ts answers them from records alone). */
export type RunReads = Pick<Orchestrator, 'getRun' | 'listRuns' | 'listTargets'>;
