import type { PartitionSelector } from '../archiver/partition-select.js';
import type { Engine } from '../engine/engine.js';
import { isoOrNull, isoTime } from '../util/time.js';
import { invalidField } from '../errors/index.js';
import { noSuchJob, notFound } from '../jobs/errors.js';
import { invokeJob } from '../jobs/invoke.js';
import type { JobScheduler } from '../jobs/scheduler.js';
import { signalJob } from '../jobs/signals.js';
import { validateJobSpec, type JobSpec } from '../jobs/spec.js';
import type { JobStore, StoredJob } from '../jobs/store.js';
import type { FerryMetrics } from '../observability/metrics.js';
import { isFinished } from '../replication/runs.js';
import { pruneReport, startPruning } from '../jobs/prune.js';
import { required, RunViews } from './run-views.js';
import { matchesFilter, watchKindsProblem, type JobView, type Orchestrator, type PruneReportView, type RunView, type TargetView, type WatchFilter } from './views.js';
import type { TransitionEvent } from '../engine/types.js';

// the archiver's modules (log sources, sinks, gRPC, the S3 SDK) load with the first archive call:
// `ferry replicate` and the other commands that open the app do not pay for them
const archiver = () => import('../archiver/partition-select.js');

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

  /** the runs and the agents' health, read from records (what `ferry status` uses without an Engine) */
  private readonly runs: RunViews;

  constructor(private readonly d: LocalOrchestratorDeps) {
    this.runs = new RunViews({ engine: d.engine, jobs: d.jobs, targets: d.targets });
  }

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

  getRun(id: string): Promise<RunView> {
    return this.runs.getRun(id);
  }

  listRuns(opts: { job?: string; limit?: number } = {}): Promise<RunView[]> {
    return this.runs.listRuns(opts);
  }

  listTargets(): Promise<TargetView[]> {
    return this.runs.listTargets();
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
