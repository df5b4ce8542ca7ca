import type { PartitionStatus } from '../archiver/coordinator.js';
import type { TransitionEvent } from '../engine/types.js';
import type { JobSpec, JobSpecInput } from '../jobs/spec.js';
import type { FilesystemReport } from '../replication/report.js';
import type { JobView, PruningView, RunView, TargetView } from '../service/views.js';
import type { KeepRule } from '../retention/rules.js';
import type { KeepRule as KeepRuleMsg, KeepRule__Output as KeepRuleOut } from '../grpc/generated/ferry/v1/KeepRule.js';
import type { Pruning as PruningMsg, Pruning__Output as PruningOut } from '../grpc/generated/ferry/v1/Pruning.js';
import type { FilesystemReport as FilesystemReportMsg, FilesystemReport__Output as FilesystemReportOut } from '../grpc/generated/ferry/v1/FilesystemReport.js';
import type { Job as JobMsg, Job__Output as JobOut } from '../grpc/generated/ferry/v1/Job.js';
import type { JobSpec as JobSpecMsg, JobSpec__Output as JobSpecOut } from '../grpc/generated/ferry/v1/JobSpec.js';
import type { Partition as PartitionMsg, Partition__Output as PartitionOut } from '../grpc/generated/ferry/v1/Partition.js';
import type { Run as RunMsg, Run__Output as RunOut } from '../grpc/generated/ferry/v1/Run.js';
import type { Target as TargetMsg, Target__Output as TargetOut } from '../grpc/generated/ferry/v1/Target.js';
import type { Transition as TransitionMsg, Transition__Output as TransitionOut } from '../grpc/generated/ferry/v1/Transition.js';
import type { SendOptions as SendOptionsMsg, SendOptions__Output as SendOptionsOut } from '../grpc/generated/ferry/v1/SendOptions.js';
import { sendFlagsOf, type JobSendOptions } from '../../machines/send-options.js';
import type { PruningSide } from '../../machines/pruning.js';
import type { PruneReport as PruneReportMsg, PruneReport__Output as PruneReportOut } from '../grpc/generated/ferry/v1/PruneReport.js';
import type { PruneReportView } from '../service/views.js';
import type { SendOptionsInput } from '../replication/send-options.js';

/**
 * The orchestrator's views to ferry.v1 messages and back (proto3 has no null: "" and 0 stand for
 * absent, as the .proto comments say).
 */

const orNull = (s: string | undefined) => (s ? s : null);

export function jobSpecToMsg(s: JobSpec): JobSpecMsg {
  return {
    name: s.name, sender: s.sender, receivers: s.receivers, filesystems: s.filesystems ?? '',
    includeSnapshots: s.includeSnapshots ?? '', excludeSnapshots: s.excludeSnapshots ?? '', initial: s.initial,
    concurrency: s.concurrency, batch: s.batch, snapshotPrefix: s.snapshotPrefix ?? '',
    schedule: !s.schedule ? null : 'everyMs' in s.schedule ? { everyMs: s.schedule.everyMs } : { cron: s.schedule.cron, timezone: s.schedule.timezone ?? '' },
    retry: { initialMs: s.retry.initialMs, maxMs: s.retry.maxMs, maxAttempts: s.retry.maxAttempts },
    retention: s.retention ? { sender: s.retention.sender.map(keepRuleToMsg), receivers: s.retention.receivers.map(keepRuleToMsg) } : null,
    send: s.send ? sendOptionsToMsg(s.send) : null,
  };
}

function sendOptionsToMsg(o: JobSendOptions): SendOptionsMsg {
  return {
    ...sendFlagsOf(o), receiveSet: o.receiveSet ?? [], receiveExclude: o.receiveExclude ?? [], bandwidthLimit: o.bandwidthLimit ?? 0,
  };
}

/** Options as received (proto3 zeros = unset), for checkSendOptions. */
function sendOptionsFromMsg(m: SendOptionsOut): SendOptionsInput {
  return {
    ...sendFlagsOf(m), receiveSet: m.receiveSet ?? [], receiveExclude: m.receiveExclude ?? [], bandwidthLimit: Number(m.bandwidthLimit ?? 0) || undefined,
  };
}

function keepRuleToMsg(r: KeepRule): KeepRuleMsg {
  return { type: r.type, ...('count' in r ? { count: r.count } : {}), ...('grid' in r ? { grid: r.grid } : {}), regex: 'regex' in r ? r.regex ?? '' : '', negate: 'negate' in r ? !!r.negate : false };
}

/** A rule as received, with only the fields its type uses (proto3 fills the others), for parseKeepRules to check. */
function keepRuleFromMsg(m: KeepRuleOut): Record<string, unknown> {
  const type = m.type ?? '';
  return {
    type,
    ...(type === 'last_n' ? { count: m.count ?? 0 } : {}),
    ...(type === 'grid' ? { grid: m.grid ?? '' } : {}),
    ...(type === 'regex' || m.regex ? { regex: m.regex ?? '' } : {}),
    ...(m.negate ? { negate: true } : {}),
  };
}

/** A spec as received; `validateJobSpec` checks it and fills defaults. */
export function jobSpecFromMsg(m: JobSpecOut | null | undefined): JobSpecInput {
  if (!m) return {};
  const sched = m.schedule;
  return {
    name: m.name ?? '', sender: m.sender ?? '', receivers: m.receivers ?? [],
    filesystems: m.filesystems || undefined, includeSnapshots: m.includeSnapshots || undefined, excludeSnapshots: m.excludeSnapshots || undefined,
    initial: (m.initial || undefined) as JobSpec['initial'] | undefined, concurrency: m.concurrency || undefined, batch: !!m.batch,
    snapshotPrefix: m.snapshotPrefix || undefined,
    schedule: !sched ? undefined : sched.cron ? { cron: sched.cron, timezone: sched.timezone || undefined } : sched.everyMs ? { everyMs: Number(sched.everyMs) } : undefined,
    retry: m.retry ? { initialMs: m.retry.initialMs || undefined, maxMs: m.retry.maxMs || undefined, maxAttempts: m.retry.maxAttempts || undefined } : undefined,
    retention: m.retention ? { sender: (m.retention.sender ?? []).map(keepRuleFromMsg), receivers: (m.retention.receivers ?? []).map(keepRuleFromMsg) } : undefined,
    send: m.send ? sendOptionsFromMsg(m.send) : undefined,
  };
}

export function jobToMsg(j: JobView): JobMsg {
  return { spec: jobSpecToMsg(j.spec), createdAt: j.createdAt, lastRun: j.lastRun ?? '', nextRunAt: j.nextRunAt ?? '' };
}

export function jobFromMsg(m: JobOut): JobView {
  // a server's spec went through validateJobSpec already: the defaults are filled in
  return { spec: jobSpecFromMsg(m.spec) as JobSpec, createdAt: m.createdAt ?? '', lastRun: orNull(m.lastRun), nextRunAt: orNull(m.nextRunAt) };
}

function fsToMsg(f: FilesystemReport): FilesystemReportMsg {
  return {
    name: f.name, state: f.state, stepsDone: f.stepsDone, stepsTotal: f.stepsTotal, bytes: f.bytes, problem: f.problem ?? '', sleepUntil: f.sleepUntil ?? '',
    currentStep: f.currentStep ? { index: f.currentStep.index, bytes: f.currentStep.bytes, total: f.currentStep.total ?? 0, etaSeconds: f.currentStep.etaSeconds ?? -1 } : null,
  };
}

function fsFromMsg(m: FilesystemReportOut): FilesystemReport {
  const c = m.currentStep;
  return {
    name: m.name ?? '', state: (m.state ?? 'Pending') as FilesystemReport['state'], stepsDone: m.stepsDone ?? 0, stepsTotal: m.stepsTotal ?? 0,
    bytes: Number(m.bytes ?? 0), problem: orNull(m.problem), sleepUntil: orNull(m.sleepUntil),
    ...(c ? { currentStep: { index: c.index ?? 0, bytes: Number(c.bytes ?? 0), total: c.total ? Number(c.total) : null, etaSeconds: c.etaSeconds === undefined || Number(c.etaSeconds) < 0 ? null : Number(c.etaSeconds) } } : {}),
  };
}

export function runToMsg(r: RunView): RunMsg {
  return {
    id: r.id, kind: r.kind, state: r.state, problem: r.problem ?? '', job: r.job ?? '', sender: r.sender, receiver: r.receiver ?? '',
    bytes: r.bytes, createdAt: r.createdAt ?? '', snapshot: r.snapshot ?? '',
    replications: r.replications.map(runToMsg), filesystems: r.filesystems.map(fsToMsg),
    prunings: (r.prunings ?? []).map(pruningToMsg),
  };
}

export function runFromMsg(m: RunOut): RunView {
  return {
    id: m.id ?? '', kind: m.kind === 'job' ? 'job' : 'replication', state: m.state ?? '', problem: orNull(m.problem), job: orNull(m.job),
    sender: m.sender ?? '', receiver: orNull(m.receiver), bytes: Number(m.bytes ?? 0), createdAt: orNull(m.createdAt), snapshot: orNull(m.snapshot),
    replications: (m.replications ?? []).map(runFromMsg), filesystems: (m.filesystems ?? []).map(fsFromMsg),
    prunings: (m.prunings ?? []).map(pruningFromMsg),
  };
}

function pruningToMsg(p: PruningView): PruningMsg {
  return { id: p.id, side: p.side, endpoint: p.endpoint, state: p.state, destroyed: p.destroyed, kept: p.kept, problem: p.problem ?? '' };
}

function pruningFromMsg(m: PruningOut): PruningView {
  return {
    id: m.id ?? '', side: m.side === 'sender' ? 'sender' : 'receiver', endpoint: m.endpoint ?? '', state: m.state ?? '',
    destroyed: m.destroyed ?? 0, kept: m.kept ?? 0, problem: orNull(m.problem),
  };
}

export function targetToMsg(t: TargetView): TargetMsg {
  return { target: t.target, healthy: t.healthy, since: t.since, failures: t.failures, lastError: t.lastError ?? '', nextCheckAt: t.nextCheckAt ?? '' };
}

export function targetFromMsg(m: TargetOut): TargetView {
  return { target: m.target ?? '', healthy: !!m.healthy, since: m.since ?? '', failures: m.failures ?? 0, lastError: orNull(m.lastError), nextCheckAt: orNull(m.nextCheckAt) };
}

export function partitionToMsg(p: PartitionStatus): PartitionMsg {
  return {
    id: p.id, storage: p.storage, partition: p.partition, state: p.state, nextLsn: p.nextLsn, highWaterMark: p.highWaterMark,
    archived: p.archived, present: p.present, gaps: p.gaps, backoffMs: p.backoffMs, problem: p.problem ?? '',
    log: p.log, sink: p.sink, consumer: p.consumer,
  };
}

export function partitionFromMsg(m: PartitionOut): PartitionStatus {
  return {
    id: m.id ?? '', storage: m.storage ?? '', partition: m.partition ?? '', log: m.log ?? '', sink: m.sink ?? '', consumer: m.consumer ?? '', state: m.state ?? '', nextLsn: Number(m.nextLsn ?? 0),
    highWaterMark: Number(m.highWaterMark ?? 0), archived: Number(m.archived ?? 0), present: Number(m.present ?? 0), gaps: Number(m.gaps ?? 0),
    backoffMs: Number(m.backoffMs ?? 0), lastError: null, problem: orNull(m.problem),
  };
}

export function transitionToMsg(e: TransitionEvent): TransitionMsg {
  return {
    id: e.id ?? '', kind: e.kind, machineId: e.machineId, parent: e.parent ?? '', from: e.from ?? '', to: e.to, event: e.event,
    at: e.at, version: e.version, status: e.status,
  };
}

export function transitionFromMsg(m: TransitionOut): TransitionEvent {
  return {
    id: m.id ?? '', kind: m.kind ?? '', machineId: m.machineId ?? '', parent: orNull(m.parent), from: orNull(m.from), to: m.to ?? '',
    event: m.event ?? '', at: Number(m.at ?? 0), version: Number(m.version ?? 0), status: (m.status ?? 'active') as TransitionEvent['status'],
  };
}

export function pruneReportToMsg(r: PruneReportView): PruneReportMsg {
  return {
    runId: r.runId, job: r.job, state: r.state, problem: r.problem ?? '', finished: r.finished,
    sides: r.prunings.map((p) => ({
      id: p.runId, side: p.side, endpoint: p.endpoint, state: p.state, dryRun: p.dryRun, problem: p.problem ?? '',
      destroyed: p.destroyed.map((d) => ({ filesystem: d.filesystem, name: d.name, reason: d.reason })),
      kept: p.kept.map((k) => ({ filesystem: k.filesystem, name: k.name, reasons: k.reasons })),
    })),
  };
}

export function pruneReportFromMsg(m: PruneReportOut): PruneReportView {
  return {
    runId: m.runId ?? '', job: m.job ?? '', state: m.state ?? '', problem: orNull(m.problem), finished: !!m.finished,
    prunings: (m.sides ?? []).map((p) => ({
      runId: p.id ?? '', side: (p.side === 'receiver' ? 'receiver' : 'sender') as PruningSide, endpoint: p.endpoint ?? '', state: p.state ?? '',
      dryRun: !!p.dryRun, problem: orNull(p.problem),
      destroyed: (p.destroyed ?? []).map((d) => ({ filesystem: d.filesystem ?? '', name: d.name ?? '', reason: d.reason ?? '' })),
      kept: (p.kept ?? []).map((k) => ({ filesystem: k.filesystem ?? '', name: k.name ?? '', reasons: k.reasons ?? [] })),
    })),
  };
}
