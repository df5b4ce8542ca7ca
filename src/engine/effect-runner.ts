import type { Job } from 'bullmq';
import type { EventObject } from 'xstate';
import type { Logger } from 'pino';
import { toErrorData, type ErrorData } from '../errors/index.js';
import { machineLogger } from '../util/logger.js';
import { failureOf, givenUpError, unknownEffect } from './effect-errors.js';
import type { EngineMetrics } from './metrics.js';
import type { EffectJobData } from './queues.js';
import type { SnapshotStore } from './store.js';
import type { Clock, EffectContext, InboxEnvelope, Registry } from './types.js';
import { WatchdogTimeout, type Watchdog } from './watchdog.js';

export interface EffectRunnerDeps {
  store: SnapshotStore;
  registry: Registry;
  clock: Clock;
  log: Logger;
  metrics: EngineMetrics;
  /** this process's watchdog (started by the effects worker) */
  watchdog: Watchdog;
  /** delivers the effect's result to its machine */
  enqueue(id: string, env: InboxEnvelope): Promise<void>;
}

/** The inbox envelope of an effect's failure: the machine's `xstate.error.actor.<childId>`, under the child's key (stale once applied). */
export function effectErrorEnvelope(data: Pick<EffectJobData, 'childId' | 'key'>, error: ErrorData, at: number): InboxEnvelope {
  return { event: { type: `xstate.error.actor.${data.childId}`, error } as EventObject, from: 'effect', key: data.key, ref: data.childId, at };
}

/** no progress for this long aborts an effect whose definition names no `timeoutMs` */
const DEFAULT_EFFECT_TIMEOUT_MS = 60_000;
/** progress is written to the record at most this often, in milliseconds */
const PROGRESS_WRITE_MS = 250;

/**
 * Runs one effect job: skips it when its machine no longer wants it, runs the registered function
 * with an AbortSignal (shutdown or the watchdog) and a progress callback, and replies to the machine
 * with `xstate.done.actor.<id>` or `xstate.error.actor.<id>`. A temporary failure with attempts left
 * is thrown back to BullMQ, which retries the job.
 */
export class EffectRunner {
  constructor(private readonly d: EffectRunnerDeps) {}

  async run(job: Job<EffectJobData>, signal?: AbortSignal): Promise<unknown> {
    const { store, clock, watchdog } = this.d;
    const data = job.data;
    const def = this.d.registry.effects[data.src];
    const log = machineLogger(this.d.log, 'effect', data.machineId, { effect: data.src, childId: data.childId, jobId: job.id });
    if (!def) throw unknownEffect(data.src);
    // skip work whose result would be stale anyway (the machine moved on)
    const children = await store.children(data.machineId);
    if (children?.[data.childId]?.key !== data.key) {
      log.debug('effect no longer wanted by its machine; skipped');
      return { stale: true };
    }
    const timeoutMs = def.timeoutMs ?? DEFAULT_EFFECT_TIMEOUT_MS;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const jobId = job.id!;
    watchdog.watch(jobId, timeoutMs, controller, () => {
      timedOut = true;
      this.d.metrics.watchdogTimeouts.inc({ effect: data.src });
      log.warn({ timeoutMs }, 'no progress: aborting effect');
    });
    let lastWrite = 0;
    const startedAt = clock.now();
    const ctx: EffectContext = {
      machineId: data.machineId, childId: data.childId, signal: controller.signal, log, attempt: job.attemptsMade + 1, scheduledAt: job.timestamp,
      progress: (p) => {
        watchdog.progress(jobId);
        const now = clock.now();
        if (now - lastWrite < PROGRESS_WRITE_MS) return;
        lastWrite = now;
        store.setProgress(data.machineId, data.childId, { ...p, at: now, startedAt }).catch((err) => log.debug({ err: err.message }, 'progress not saved'));
      },
    };
    const reply = (event: EventObject) => this.d.enqueue(data.machineId, { event, from: 'effect', key: data.key, ref: data.childId, at: clock.now() });
    try {
      const output = await def.run(data.input, ctx);
      if (timedOut) throw new WatchdogTimeout(jobId, timeoutMs);
      await reply({ type: `xstate.done.actor.${data.childId}`, output } as EventObject);
      return { ok: true };
    } catch (err) {
      const error = timedOut
        ? { name: 'WatchdogTimeout', message: new WatchdogTimeout(jobId, timeoutMs).message, kind: 'temporary' as const, code: 'WATCHDOG_TIMEOUT' }
        : toErrorData(err);
      if (!timedOut && error.kind === 'temporary' && job.attemptsMade + 1 < (def.attempts ?? 1)) throw err;
      // a permanent error stops the work until a person acts: visible at the default level
      log[error.kind === 'permanent' ? 'warn' : 'info']({ error }, 'effect failed; the machine decides what next');
      await this.d.enqueue(data.machineId, effectErrorEnvelope(data, error, clock.now()));
      return { ok: false, error };
    } finally {
      watchdog.unwatch(jobId);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * An effect job BullMQ failed for good (its worker died too often, or an error came out of the
   * processor): the machine hears of it as `xstate.error.actor.<childId>`, if it still waits for
   * that child under that key. A second delivery (the reconciler's) is dropped as stale by the drain.
   * @returns whether an event was delivered
   */
  async giveUp(job: Job<EffectJobData>, err: Error): Promise<boolean> {
    const data = job.data;
    const children = await this.d.store.children(data.machineId);
    if (children?.[data.childId]?.key !== data.key) return false;
    const f = failureOf(job);
    const error = givenUpError(data, err, { stalled: f.stalled, made: f.made });
    machineLogger(this.d.log, 'effect', data.machineId, { effect: data.src, childId: data.childId, jobId: job.id }).warn({ error }, 'effect job failed for good; the machine decides what next');
    await this.d.enqueue(data.machineId, effectErrorEnvelope(data, error, this.d.clock.now()));
    return true;
  }
}
