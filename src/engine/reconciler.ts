import type { Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { machineLogger } from '../util/logger.js';
import type { Dispatcher } from './dispatch.js';
import { effectErrorEnvelope } from './effect-runner.js';
import { lostError } from './effect-errors.js';
import type { EngineMetrics } from './metrics.js';
import { isGone, type EffectJobData, type EngineQueues, type TimerJobData } from './queues.js';
import type { MachineView, SnapshotStore } from './store.js';
import type { Clock, InboxEnvelope } from './types.js';

/** Why a machine was repaired: the label of ferry_engine_reconciled_total. */
export type ReconcileReason = 'effect_lost' | 'effect_failed' | 'timer_lost' | 'inbox_stranded' | 'outbox_stranded';

/** A machine waiting on something that is gone; `id` names it so both looks of a pass can be matched. */
interface Problem {
  reason: ReconcileReason;
  id: string;
  repair(): Promise<void>;
}

export interface Repair { machineId: string; reason: ReconcileReason; detail: string }

export interface ReconcileReport {
  /** false when another worker's pass held the lock */
  ran: boolean;
  machines: number;
  repaired: Repair[];
  /** finished machines removed for good: older than the retention (docs/engine.md "Retention") */
  removed: Array<{ machineId: string; kind: string }>;
}

export interface ReconcilerDeps {
  store: SnapshotStore;
  queues: EngineQueues;
  dispatcher: Dispatcher;
  clock: Clock;
  log: Logger;
  metrics: EngineMetrics;
  /**
   * how long a finished machine (done, error, stopped) is kept after it finished, in milliseconds;
   * then a pass removes it with its inbox, outbox and index entry. 0: kept for good. `start` may
   * replace it (a worker's own setting).
   */
  finishedRetentionMs: number;
  /** the effect runner's delivery of a job BullMQ failed for good (EffectRunner.giveUp) */
  giveUp(job: Job<EffectJobData>, err: Error): Promise<boolean>;
}

export interface ReconcileOptions {
  /**
   * a problem is repaired only if it is still there, with the machine's version unchanged, this long
   * after it was first seen (a commit being dispatched, an event being appended, look alike for a moment).
   * In milliseconds. @defaultValue 5000
   */
  graceMs?: number;
  /**
   * how long the pass keeps other workers' passes out, in milliseconds: the periodic pass holds it for
   * its interval, so a cluster reconciles once per interval however many workers it has. Released at
   * the end when `release` is set.
   */
  holdMs: number;
  release?: boolean;
}

/** records read per SCAN step, and machines looked at concurrently */
const SCAN_COUNT = 200;
const CONCURRENCY = 50;

/**
 * Finds machines that wait on work that no longer exists and repairs them: an effect job that is gone
 * (EFFECT_LOST error to the machine) or failed without its machine hearing of it (the failure delivered),
 * a timer whose job is gone (fired, or scheduled again), an inbox without a drain job (a drain scheduled),
 * an outbox nobody dispatched (dispatched). Every repair is idempotent: a result delivered twice is stale
 * the second time (the drain drops it), and one lock keeps two workers' passes apart.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  /** ends the grace wait of a pass in progress when the reconciler stops */
  private wake: (() => void) | null = null;
  private finishedRetentionMs: number;

  constructor(private readonly d: ReconcilerDeps) {
    this.finishedRetentionMs = d.finishedRetentionMs;
  }

  /**
   * A pass now, then one every `intervalMs` (the cluster's first worker to come takes each turn);
   * `finishedRetentionMs` replaces the deps' for these passes.
   */
  start(intervalMs: number, graceMs: number, atStart = true, finishedRetentionMs = this.d.finishedRetentionMs): void {
    if (this.timer) return;
    this.stopped = false;
    this.finishedRetentionMs = finishedRetentionMs;
    const tick = () => {
      if (this.running) return;
      // held a little less than the interval, so this process's next tick finds it free again
      this.running = this.pass({ holdMs: intervalMs * 0.9, graceMs })
        .catch((err: Error) => this.d.log.warn({ err: err.message }, 'reconciler pass failed; next one in an interval'))
        .finally(() => { this.running = null; });
    };
    if (atStart) tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic passes; a pass in progress stops at its next machine, and this waits for it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  /** One pass over every machine record. */
  async pass(o: ReconcileOptions): Promise<ReconcileReport> {
    const token = randomUUID();
    const graceMs = o.graceMs ?? 5000;
    const report: ReconcileReport = { ran: false, machines: 0, repaired: [], removed: [] };
    if (!(await this.d.store.lock(token, Math.max(o.holdMs, graceMs * 2)))) return report;
    report.ran = true;
    try {
      const retention = this.finishedRetentionMs;
      const cutoff = retention > 0 ? this.d.clock.now() - retention : null;
      const suspects = new Map<string, { version: number; problems: Set<string> }>();
      let cursor = '0';
      do {
        const [next, ids] = await this.d.store.scanRecords(cursor, SCAN_COUNT);
        cursor = next;
        report.machines += ids.length;
        await this.eachLimited(ids, async (id) => {
          const view = await this.d.store.view(id);
          if (!view) return;
          if (cutoff !== null && (await this.removeIfExpired(view, cutoff))) {
            report.removed.push({ machineId: id, kind: view.kind });
            return;
          }
          const problems = await this.problemsOf(view);
          if (problems.length) suspects.set(id, { version: view.version, problems: new Set(problems.map((p) => p.id)) });
        });
      } while (cursor !== '0' && !this.stopped);
      if (report.removed.length) this.d.log.info({ removed: report.removed.length }, 'reconciler: removed finished machines older than the retention');
      if (!suspects.size) return report;
      if (graceMs > 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, graceMs);
          this.wake = () => { clearTimeout(t); r(); };
        });
        this.wake = null;
      }
      if (this.stopped) return report;
      await this.eachLimited([...suspects.keys()], async (id) => {
        const first = suspects.get(id)!;
        const view = await this.d.store.view(id);
        // it moved on by itself
        if (!view || view.version !== first.version) return;
        for (const p of await this.problemsOf(view)) {
          if (!first.problems.has(p.id)) continue;
          await p.repair();
          this.d.metrics.reconciled.inc({ reason: p.reason });
          machineLogger(this.d.log, view.kind, id).warn({ reason: p.reason, detail: p.id.slice(0, 300) }, 'reconciler: the machine waited on work that no longer exists; repaired');
          report.repaired.push({ machineId: id, reason: p.reason, detail: p.id });
        }
      });
      return report;
    } finally {
      if (o.release) await this.d.store.unlock(token);
    }
  }

  /**
   * Removes a machine that finished at or before `cutoff`, unless its parent's record is still there:
   * a run's views read its children's records, so children go with or after their parent (a child
   * seen before its parent's removal goes on the next pass).
   */
  private async removeIfExpired(view: MachineView, cutoff: number): Promise<boolean> {
    if (view.status === 'active' || view.stateSince > cutoff || view.outbox.length) return false;
    if (view.parent && (await this.d.store.exists(view.parent))) return false;
    if (!(await this.d.store.removeFinished(view.id, view.kind, cutoff))) return false;
    this.d.metrics.machinesRemoved.inc({ machine: view.kind });
    return true;
  }

  /** What `view` waits on that is gone; repairs are built but not run. */
  private async problemsOf(view: MachineView): Promise<Problem[]> {
    const { queues, dispatcher, clock } = this.d;
    const id = view.id;
    // a commit not (yet) dispatched explains missing jobs: dispatching it is the only repair
    if (view.outbox.length) {
      return [{ reason: 'outbox_stranded', id: `outbox:${view.outbox.join('\n')}`, repair: () => dispatcher.flushOutbox(id) }];
    }
    const problems: Problem[] = [];
    const delivered = (from: InboxEnvelope['from'], key: string) => view.inbox.some((e) => e.from === from && e.key === key);
    if (view.status === 'active') {
      for (const [childId, child] of Object.entries(view.children)) {
        if (child.type !== 'effect' || delivered('effect', child.key)) continue;
        const state = await queues.jobState('effects', child.key);
        if (state === 'missing') {
          const data = { childId, key: child.key, src: child.src, machineId: id };
          problems.push({ reason: 'effect_lost', id: `effect:${child.key}:missing`, repair: () => dispatcher.enqueue(id, effectErrorEnvelope(data, lostError(data), clock.now())) });
        } else if (state === 'failed') {
          problems.push({ reason: 'effect_failed', id: `effect:${child.key}:failed`, repair: () => this.deliverFailure(child.key) });
        }
      }
      for (const [sendId, t] of Object.entries(view.timers)) {
        if (delivered('timer', t.key)) continue;
        const state = await queues.jobState('timers', t.key);
        if (!isGone(state)) continue;
        problems.push({
          reason: 'timer_lost', id: `timer:${t.key}:${state}`,
          repair: async () => {
            const wait = t.dueAt - clock.now();
            if (wait <= 0) {
              await dispatcher.enqueue(id, { event: t.event, from: 'timer', key: t.key, ref: sendId, at: clock.now() });
              return;
            }
            await queues.timers.remove(t.key).catch(() => 0);
            await queues.timers.add('timer', { machineId: id, sendId, key: t.key, event: t.event } satisfies TimerJobData, queues.timerJobOptions(t.key, wait));
          },
        });
      }
    }
    if (view.inboxLength > 0 && isGone(await queues.drainState(id))) {
      problems.push({ reason: 'inbox_stranded', id: `inbox:${JSON.stringify(view.inbox[0])}`, repair: () => queues.scheduleDrain(id, { replaceStale: true }) });
    }
    return problems;
  }

  /** Delivers the failure of an effect job BullMQ failed for good, as the worker's `failed` handler would have. */
  private async deliverFailure(jobId: string): Promise<void> {
    const job = await this.d.queues.effects.getJob(jobId);
    if (job) await this.d.giveUp(job as Job<EffectJobData>, new Error(job.failedReason ?? 'unknown reason'));
  }

  private async eachLimited(ids: string[], fn: (id: string) => Promise<void>): Promise<void> {
    for (let i = 0; i < ids.length && !this.stopped; i += CONCURRENCY) await Promise.all(ids.slice(i, i + CONCURRENCY).map(fn));
  }
}
