import type { JobContext } from '../../machines/job.js';
import type { PartitionSelector } from '../archiver/partition-select.js';
import type { ReplicationContext } from '../../machines/replication.js';
import type { Engine } from '../engine/engine.js';
import { stateName } from '../util/state-name.js';
import { isoOrNull, isoTime } from '../util/time.js';
import { invalidField } from '../errors/index.js';
import { invokeJob, noSuchJob, notFound } from '../jobs/invoke.js';
import type { JobScheduler } from '../jobs/scheduler.js';
import { signalJob } from '../jobs/signals.js';
import { validateJobSpec, type JobSpec } from '../jobs/spec.js';
import type { JobStore, StoredJob } from '../jobs/store.js';
import type { FerryMetrics } from '../observability/metrics.js';
import { isFinished, runReport } from '../replication/runs.js';
import { pruneReport, startPruning } from '../jobs/prune.js';
import { matchesFilter, watchKindsProblem, type JobView, type Orchestrator, type PruneReportView, type RunView, type TargetView, type WatchFilter } from './views.js';
import type { TransitionEvent } from '../engine/types.js';

// the archiver's modules (log sources, sinks, gRPC, the S3 SDK) load with the first archive call:
// `ferry replicate` and the other commands that open the app do not pay for them
const archiver = () => import('../archiver/partition-select.js');

function required(value: string | undefined, field: string): string {
  if (!value) throw invalidField(field, 'required');
  return value;
}

/** A selector with its names required (INVALID_ARGUMENT naming the field otherwise). */
function selectorOf(sel: PartitionSelector): PartitionSelector {
  return { ...sel, storage: required(sel.storage, 'storage'), partition: required(sel.partition, 'partition') };
}

export interface LocalOrchestratorDeps {
  engine: Engine;
  jobs: JobStore;
  scheduler: JobScheduler;
  metrics?: FerryMetrics;
  /** the health checker's view of the agents; none when no checker runs */
  targets?: () => Promise<TargetView[]>;
}

/** The orchestrator over Redis: what `ferry serve` serves over gRPC and what the CLI uses without --server. */
export class LocalOrchestrator implements Orchestrator {
  /** sinks whose orphaned temp files NotifyLogEntries removed already */
  private readonly cleanedSinks = new Set<string>();

  constructor(private readonly d: LocalOrchestratorDeps) {}

  private async view(job: StoredJob): Promise<JobView> {
    const [lastRun] = await this.d.jobs.runs(job.spec.name, 1);
    return {
      spec: job.spec,
      createdAt: isoTime(job.createdAt),
      lastRun: lastRun ?? null,
      nextRunAt: job.spec.schedule ? isoOrNull(await this.d.scheduler.nextRunAt(job.spec.name)) : null,
    };
  }

  async createJob(raw: Partial<JobSpec>, opts: { replace?: boolean } = {}): Promise<JobView> {
    const spec = validateJobSpec(raw);
    const stored = await this.d.jobs.put(spec, { replace: opts.replace });
    await this.d.scheduler.apply(spec);
    return this.view(stored);
  }

  async getJob(name: string): Promise<JobView> {
    const job = await this.d.jobs.get(required(name, 'name'));
    if (!job) throw noSuchJob(name);
    return this.view(job);
  }

  async listJobs(): Promise<JobView[]> {
    return Promise.all((await this.d.jobs.list()).map((j) => this.view(j)));
  }

  async deleteJob(name: string): Promise<void> {
    required(name, 'name');
    // the schedule first: a firing between the two would find no job and do nothing
    await this.d.scheduler.remove(name);
    if (!(await this.d.jobs.delete(name))) throw noSuchJob(name);
  }

  runJob(name: string) {
    return invokeJob(this.d.engine, this.d.jobs, required(name, 'name'), Date.now());
  }

  signalJob(name: string, signal: string) {
    return signalJob(this.d.engine, this.d.jobs, required(name, 'name'), required(signal, 'signal'));
  }

  async pruneJob(name: string, opts: { dryRun?: boolean } = {}) {
    return { runId: await startPruning(this.d.engine, this.d.jobs, required(name, 'name'), { dryRun: !!opts.dryRun }) };
  }

  async getPruneReport(runId: string): Promise<PruneReportView> {
    // finished first: a report read after it is final when it says so (the other order can pair a
    // mid-run report with finished: true)
    const finished = isFinished(await this.d.engine.get(required(runId, 'run_id')));
    const report = await pruneReport(this.d.engine, runId);
    if (!report) throw notFound(`no job invocation with id ${runId}`);
    return { ...report, finished };
  }

  async getRun(id: string): Promise<RunView> {
    const run = await this.runView(required(id, 'id'), null);
    if (!run) throw notFound(`no run with id ${id}; see \`ferry status\` for the latest runs`);
    return run;
  }

  /** `job`: the job a replication belongs to, when the caller (its job's view) knows it. */
  private async runView(id: string, listedAt: number | null, job?: string): Promise<RunView | null> {
    const s = await this.d.engine.snapshotOf(id);
    if (!s) return null;
    // the record's own time (a job's replications are not listed); the listing's for records older than that field
    const createdAt = s.record.createdAt || listedAt;
    if (s.record.kind === 'job') {
      const c = s.context as JobContext;
      const replications = await Promise.all(c.replications.map(async (r) => (await this.runView(r.runId, null, c.job)) ?? {
        id: r.runId, kind: 'replication' as const, state: r.state, problem: r.problem, job: c.job, sender: c.sender, receiver: r.receiver,
        bytes: r.bytes, createdAt: null, snapshot: null, replications: [], filesystems: [],
      }));
      return {
        id, kind: 'job', state: stateName(s.value), problem: c.problem, job: c.job, sender: c.sender, receiver: null,
        bytes: replications.reduce((n, r) => n + r.bytes, 0), createdAt: isoOrNull(createdAt), snapshot: c.snapshotTaken,
        replications, filesystems: [],
        prunings: (c.prunings ?? []).map((p) => ({ id: p.runId, side: p.side, endpoint: p.endpoint, state: p.state, destroyed: p.destroyed, kept: p.kept, problem: p.problem })),
      };
    }
    if (s.record.kind !== 'replication') return null;
    const c = s.context as ReplicationContext;
    const report = (await runReport(this.d.engine, id, s))!;
    // a replication started by a job is its child: the job's name is in the parent's context
    if (job === undefined && s.record.parent) {
      const parent = await this.d.engine.snapshotOf(s.record.parent);
      if (parent?.record.kind === 'job') job = (parent.context as JobContext).job;
    }
    return {
      id, kind: 'replication', state: report.state, problem: report.problem, job: job ?? null,
      sender: c.sender, receiver: c.receiver, bytes: report.filesystems.reduce((n, f) => n + f.bytes, 0),
      createdAt: isoOrNull(createdAt), snapshot: null, replications: [], filesystems: report.filesystems,
      ...(report.timing ? { timing: report.timing } : {}),
    };
  }

  async listRuns(opts: { job?: string; limit?: number } = {}): Promise<RunView[]> {
    const limit = Math.min(Math.max(1, opts.limit || 20), 1000);
    let scored: Array<[string, number]>;
    if (opts.job) {
      if (!(await this.d.jobs.get(opts.job))) throw noSuchJob(opts.job);
      scored = await this.d.jobs.runsWithTimes(opts.job, limit);
    } else {
      const [jobs, reps] = await Promise.all(['job', 'replication'].map((k) => this.d.engine.listWithTimes(k, limit)));
      scored = [...jobs, ...reps].sort((a, b) => b[1] - a[1]).slice(0, limit);
    }
    const views = await Promise.all(scored.map(([id, at]) => this.runView(id, at)));
    return views.filter((v): v is RunView => v !== null);
  }

  async listTargets(): Promise<TargetView[]> {
    return this.d.targets ? this.d.targets() : [];
  }

  async notifyLogEntries(log: string, sink: string, consumer?: string): Promise<number> {
    required(log, 'log');
    required(sink, 'sink');
    const [{ openSink }, { openLogSource }, { logNameProblem }, { removeSinkOrphans, scanAndNotify }] = await Promise.all([
      import('../archiver/sinks/index.js'), import('../archiver/open-log-source.js'), import('../archiver/log-source/names.js'), import('../archiver/coordinator.js'),
    ]);
    try {
      openSink(sink);
    } catch (err) {
      throw invalidField('sink', (err as Error).message);
    }
    let source;
    try {
      source = openLogSource(log);
    } catch (err) {
      throw invalidField('log', (err as Error).message);
    }
    const problem = consumer ? logNameProblem(consumer) : null;
    if (problem !== null) throw invalidField('consumer', `${JSON.stringify(consumer)} ${problem}`);
    // the temp files of puts killed mid-write, once per sink for this orchestrator (as `ferry archive` does at its start)
    if (!this.cleanedSinks.has(sink)) {
      await removeSinkOrphans(sink);
      this.cleanedSinks.add(sink);
    }
    // the machines keep the normalized root (an absolute path or grpc://HOST:PORT), as `ferry archive` gives it
    const parts = await scanAndNotify(this.d.engine, source, { log: source.root, sink, consumer: consumer || undefined }, this.d.metrics);
    return parts.length;
  }

  async getPartition(sel: PartitionSelector) {
    return (await archiver()).selectPartition(this.d.engine, selectorOf(sel));
  }

  async resetPartition(sel: PartitionSelector) {
    return (await archiver()).resetPartition(this.d.engine, selectorOf(sel));
  }

  async listPartitions() {
    return (await import('../archiver/coordinator.js')).allPartitionStatus(this.d.engine);
  }

  async watchTransitions(filter: WatchFilter, onEvent: (e: TransitionEvent) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    // a kind no machine has would match nothing, silently, forever
    const kindsProblem = watchKindsProblem(filter.kinds);
    if (kindsProblem !== null) throw invalidField('kinds', kindsProblem);
    const log = this.d.engine.transitions;
    const from = filter.afterId ? filter.afterId : await log.lastId();
    await log.follow(from, async (e) => {
      if (matchesFilter(e, filter)) await onEvent(e);
    }, signal);
  }

  async close(): Promise<void> {}
}
