import type { JobContext } from '../../machines/job.js';
import type { ReplicationContext } from '../../machines/replication.js';
import type { EngineReader } from '../engine/engine-reader.js';
import { invalidField } from '../errors/index.js';
import type { TargetHealthRecord } from '../health/health-records.js';
import { noSuchJob, notFound } from '../jobs/errors.js';
import type { JobStore } from '../jobs/store.js';
import { runReport } from '../replication/report.js';
import { stateName } from '../util/state-name.js';
import { isoOrNull, isoTime } from '../util/time.js';
import type { RunReads, RunView, TargetView } from './views.js';

export function required(value: string | undefined, field: string): string {
  if (!value) throw invalidField(field, 'required');
  return value;
}

/** The health records as the orchestrator shows them. */
export function targetViews(records: TargetHealthRecord[]): TargetView[] {
  return records.map((r) => ({
    target: r.target, healthy: r.state !== 'unhealthy', since: isoTime(r.since), failures: r.failures, lastError: r.lastError, nextCheckAt: isoOrNull(r.nextCheckAt),
  }));
}

export interface RunViewsDeps {
  /** the engine's reads: an EngineReader, or the Engine itself */
  engine: Pick<EngineReader, 'snapshotOf' | 'listWithTimes'>;
  jobs: Pick<JobStore, 'get' | 'runsWithTimes'>;
  /** the agents' health as shown; none: no targets */
  targets?: () => Promise<TargetView[]>;
}

/**
 * The runs (job invocations and replications) and the agents' health as the orchestrator shows
 * them, from records only: the LocalOrchestrator answers with it, and `ferry status` uses it over
 * an EngineReader without opening the Engine (no BullMQ, no machine definitions, no drivers).
 */
export class RunViews implements RunReads {
  constructor(private readonly d: RunViewsDeps) {}

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
}
