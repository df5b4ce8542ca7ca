import type { JobScheduler } from '../jobs/scheduler.js';
import type { JobSchedule, JobSpec } from '../jobs/spec.js';
import type { JobStore } from '../jobs/store.js';
import type { DesiredState } from './check.js';
import type { AppliedConfig, ConfigStore } from './store.js';

/** One difference between the file and Redis. */
export interface ConfigChange {
  op: 'create' | 'update' | 'delete';
  what: 'job' | 'schedule' | 'agent' | 'archive';
  name: string;
  /** for an update: what differs, `field: old -> new` */
  details: string[];
}

export interface ApplyPlan {
  changes: ConfigChange[];
  /** jobs of the file that Redis holds as written */
  unchanged: string[];
  /** jobs in Redis that the file neither names nor manages: left alone (--prune deletes them) */
  unmanaged: string[];
  /** the record apply leaves in Redis */
  next: AppliedConfig;
  /** the specs to store and schedule, by job name (creates and updates) */
  put: Map<string, JobSpec>;
}

export interface ApplyDeps {
  jobs: JobStore;
  scheduler: JobScheduler;
  store: ConfigStore;
}

/** JSON with sorted keys: equal values, equal text. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
}

function fieldDiffs(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k])).map((k) => `${k}: ${canonical(a[k]) ?? '(none)'} -> ${canonical(b[k]) ?? '(none)'}`);
}

/** Whether the BullMQ scheduler Redis holds for a job fires as its spec says (none for none). */
async function scheduleInRedisMatches(scheduler: JobScheduler, name: string, want: JobSchedule | undefined): Promise<boolean> {
  const live = await scheduler.queue.getJobScheduler(name);
  if (!want) return !live;
  if (!live) return false;
  if ('everyMs' in want) return Number(live.every) === want.everyMs && !live.pattern;
  return live.pattern === want.cron && (live.tz ?? undefined) === (want.timezone ?? undefined);
}

/** A named section's changes (agents, archives): only the record in Redis holds them. */
function sectionChanges(what: 'agent' | 'archive', before: Record<string, unknown>, after: Record<string, unknown>): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const name of Object.keys(after).sort()) {
    if (!(name in before)) out.push({ op: 'create', what, name, details: [] });
    else if (canonical(before[name]) !== canonical(after[name])) out.push({ op: 'update', what, name, details: fieldDiffs(before[name] as object, after[name] as object) });
  }
  for (const name of Object.keys(before).sort()) if (!(name in after)) out.push({ op: 'delete', what, name, details: [] });
  return out;
}

/**
 * What applying `desired` would change; reads Redis, writes nothing. Jobs the file names are
 * created or updated (a job made by hand under such a name is taken over); jobs the config
 * managed before and the file no longer names are deleted; others only with `prune`.
 */
export async function planApply(desired: DesiredState, d: ApplyDeps, opts: { prune?: boolean } = {}): Promise<ApplyPlan> {
  const [stored, applied] = await Promise.all([d.jobs.list(), d.store.read()]);
  const byName = new Map(stored.map((j) => [j.spec.name, j]));
  const managed = new Set(applied.managedJobs);
  const changes: ConfigChange[] = [];
  const unchanged: string[] = [];
  const put = new Map<string, JobSpec>();
  for (const spec of [...desired.jobs].sort((a, b) => a.name.localeCompare(b.name))) {
    const old = byName.get(spec.name);
    if (!old) {
      changes.push({ op: 'create', what: 'job', name: spec.name, details: [] });
      put.set(spec.name, spec);
      continue;
    }
    const details = fieldDiffs(old.spec, spec);
    if (!managed.has(spec.name)) details.push('created by hand: now managed by the config');
    if (details.length) {
      changes.push({ op: 'update', what: 'job', name: spec.name, details });
      put.set(spec.name, spec);
    } else if (!(await scheduleInRedisMatches(d.scheduler, spec.name, spec.schedule))) {
      // the stored spec is right but its schedule is not (e.g. a schedule half-saved by an older ferry)
      changes.push({ op: 'update', what: 'schedule', name: spec.name, details: ['the schedule in Redis differs from the job: re-created'] });
      put.set(spec.name, spec);
    } else unchanged.push(spec.name);
  }
  const named = new Set(desired.jobs.map((j) => j.name));
  const unmanaged: string[] = [];
  for (const job of stored) {
    const name = job.spec.name;
    if (named.has(name)) continue;
    if (managed.has(name) || opts.prune) changes.push({ op: 'delete', what: 'job', name, details: [] });
    else unmanaged.push(name);
  }
  changes.push(...sectionChanges('agent', applied.agents, desired.agents), ...sectionChanges('archive', applied.archives, desired.archives));
  const next: AppliedConfig = { managedJobs: [...named].sort(), agents: desired.agents, archives: desired.archives };
  return { changes, unchanged, unmanaged, next, put };
}

/**
 * Makes Redis match the plan: stores and schedules each created or updated job, removes each
 * deleted one (schedule first), then writes the config record. Each step is idempotent, so an
 * apply cut short is finished by the next one.
 */
export async function executePlan(plan: ApplyPlan, d: ApplyDeps): Promise<void> {
  for (const c of plan.changes) {
    if (c.what === 'job' || c.what === 'schedule') {
      const spec = plan.put.get(c.name);
      if (spec) {
        if (c.what === 'job') await d.jobs.put(spec, { replace: true });
        await d.scheduler.apply(spec);
      } else if (c.op === 'delete') {
        // the schedule first: a firing between the two finds no job and does nothing
        await d.scheduler.remove(c.name);
        await d.jobs.delete(c.name);
      }
    }
  }
  const current = await d.store.read();
  if (canonical(current) !== canonical(plan.next)) await d.store.write(plan.next);
}

/** The plan for a person: one line per change, then what was left alone. */
export function formatPlan(plan: ApplyPlan, dryRun: boolean): string[] {
  const sign = { create: '+', update: '~', delete: '-' } as const;
  const lines = plan.changes.map((c) => `${sign[c.op]} ${c.what} ${c.name}${c.details.length ? `: ${c.details.join('; ')}` : ''}`);
  if (!plan.changes.length) lines.push(`no changes (${plan.unchanged.length} job${plan.unchanged.length === 1 ? '' : 's'} as in the file)`);
  else lines.push(`${dryRun ? 'would change' : 'changed'}: ${plan.changes.length}; unchanged jobs: ${plan.unchanged.length}${dryRun ? ' (dry run: nothing written)' : ''}`);
  if (plan.unmanaged.length) lines.push(`left alone (not in the file, not managed by it; --prune deletes them): ${plan.unmanaged.join(', ')}`);
  return lines;
}
