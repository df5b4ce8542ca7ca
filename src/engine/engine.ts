import { Queue, Worker, type Job, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { Logger } from 'pino';
import { toErrorData } from '../errors/index.js';
import { EngineMetrics } from './metrics.js';
import { createLogger, machineLogger } from '../util/logger.js';
import { assertMachineId, makeKeys, type Keys } from './keys.js';
import { SnapshotStore } from './store.js';
import { applyEvents, createRecord, restoreSnapshot, type StepResult } from './step.js';
import { TransitionLog } from './transition-log.js';
import { Watchdog, WatchdogTimeout } from './watchdog.js';
import { actorEvent, transitionEvents, type InspectFn } from './inspection.js';
import { systemClock, type Clock, type EffectContext, type InboxEnvelope, type MachineRecord, type OutboxEntry, type Registry } from './types.js';

export interface EngineOptions {
  /** redis://host:port[/db] */
  redisUrl: string;
  registry: Registry;
  /** prefix of every Redis key and BullMQ queue. @defaultValue "ferry" */
  prefix?: string;
  clock?: Clock;
  logger?: Logger;
  metrics?: EngineMetrics;
  /** receives XState-shaped inspection events per committed transition */
  inspect?: InspectFn;
  /** receives what machines `emit` (after the commit), e.g. to count gaps in a metric */
  onEmit?: (record: MachineRecord, event: EventObject) => void;
  /** approximate cap of the transition log stream. @defaultValue 100000 */
  transitionLogMaxLen?: number;
  /** inbox events applied per commit. @defaultValue 64 */
  batchSize?: number;
}

export interface WorkerOptions {
  /** drain jobs in flight (distinct machines) per process. @defaultValue 50 */
  drainConcurrency?: number;
  /** effects running at once per process. @defaultValue 8 */
  effectConcurrency?: number;
  /** lock of an active job, in milliseconds; a dead worker's job is retried after it lapses. @defaultValue 30000 */
  lockDurationMs?: number;
  /** how often stalled jobs are looked for, in milliseconds; give every worker the same value. @defaultValue 30000 */
  stalledIntervalMs?: number;
  /** how often the watchdog checks running effects, in milliseconds. @defaultValue 5000 */
  watchdogIntervalMs?: number;
  /** which queues this process works on. @defaultValue all */
  roles?: Array<'drain' | 'effects' | 'timers'>;
}

interface EffectJobData { machineId: string; childId: string; key: string; src: string; input: unknown }
interface TimerJobData { machineId: string; sendId: string; key: string; event: EventObject }

const DEFAULT_EFFECT_TIMEOUT_MS = 60_000;

/**
 * The durable machine runtime. Events go to a machine's inbox; a deduplicated drain job
 * applies them in order with pure transitions and commits snapshot, inbox acknowledgement,
 * outbox and transition log atomically; the outbox then becomes BullMQ jobs with
 * idempotent ids. See docs/engine.md.
 */
export class Engine {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly store: SnapshotStore;
  readonly transitions: TransitionLog;
  readonly metrics: EngineMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly prefix: string;
  private readonly queues: { drain: Queue; effects: Queue; timers: Queue };
  private readonly workers: Worker[] = [];
  /** connections this engine made; BullMQ does not close connections it was given */
  private readonly connections: Redis[] = [];
  private watchdog: Watchdog;
  private readonly batchSize: number;
  /** restored snapshots by machine id, valid only for the version this process committed last */
  private readonly cache = new Map<string, { version: number; snapshot: AnyMachineSnapshot }>();
  private readonly inspect?: InspectFn;
  private readonly onEmit?: (record: MachineRecord, event: EventObject) => void;
  private closed = false;

  constructor(opts: EngineOptions) {
    this.registry = opts.registry;
    this.prefix = opts.prefix ?? 'ferry';
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? createLogger();
    this.metrics = opts.metrics ?? new EngineMetrics();
    this.inspect = opts.inspect;
    this.onEmit = opts.onEmit;
    this.batchSize = opts.batchSize ?? 64;
    // BullMQ workers block on this connection: no per-request retry limit
    this.redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    this.redis.on('error', (err) => this.log.warn({ err: err.message }, 'redis connection error'));
    this.keys = makeKeys(this.prefix);
    this.store = new SnapshotStore(this.redis, this.keys, opts.transitionLogMaxLen ?? 100_000);
    this.transitions = new TransitionLog(this.redis, this.keys.transitions);
    const connection = this.redis as unknown as ConnectionOptions;
    this.queues = {
      drain: new Queue(`drain`, { connection, prefix: this.prefix }),
      effects: new Queue(`effects`, { connection, prefix: this.prefix }),
      timers: new Queue(`timers`, { connection, prefix: this.prefix }),
    };
    this.watchdog = new Watchdog(this.clock, 5000);
  }

  // ---- API ---------------------------------------------------------------

  /** Starts a top-level machine. Idempotent: starting an existing id does nothing and returns false. */
  async start(kind: string, id: string, input: unknown): Promise<boolean> {
    assertMachineId(id);
    const created = await this.create({ kind, id, input });
    if (created) await this.redis.zadd(this.keys.index(kind), this.clock.now(), id);
    return created;
  }

  /** Appends an event to a machine's inbox; it is applied once, in order, by some worker. */
  async send(id: string, event: EventObject): Promise<void> {
    assertMachineId(id);
    if (!event || typeof event.type !== 'string') throw new Error(`event for ${id} has no type`);
    await this.enqueue(id, { event, from: 'ext', at: this.clock.now() });
  }

  async get(id: string): Promise<MachineRecord | null> {
    return this.store.get(id);
  }

  /** the machine's snapshot context and value, restored */
  async snapshotOf(id: string): Promise<{ record: MachineRecord; value: unknown; context: any; output: unknown; status: string } | null> {
    const record = await this.store.get(id);
    if (!record) return null;
    const snap = record.snapshot as { value: unknown; context: unknown; output?: unknown; status: string };
    return { record, value: snap?.value, context: snap?.context, output: snap?.output, status: record.status };
  }

  /** top-level machines of a kind, newest first */
  async list(kind: string, limit = 50): Promise<string[]> {
    return this.redis.zrevrange(this.keys.index(kind), 0, limit - 1);
  }

  /** Polls until `done(record)` holds; rejects after `timeoutMs`. */
  async waitFor(id: string, done: (r: MachineRecord) => boolean, opts: { timeoutMs?: number; pollMs?: number; onPoll?: (r: MachineRecord | null) => void } = {}): Promise<MachineRecord> {
    const deadline = this.clock.now() + (opts.timeoutMs ?? 3_600_000);
    for (;;) {
      const rec = await this.store.get(id);
      opts.onPoll?.(rec);
      if (rec && done(rec)) return rec;
      if (this.clock.now() > deadline) throw new Error(`timed out waiting for machine ${id} (state ${rec ? JSON.stringify(rec.value) : 'absent'})`);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
    }
  }

  async queueCounts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [name, q] of Object.entries(this.queues)) out[name] = await q.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
    return out;
  }

  // ---- workers -------------------------------------------------------------

  /** Starts this process's workers; call once per process that should do work. */
  startWorkers(opts: WorkerOptions = {}): void {
    const roles = new Set(opts.roles ?? ['drain', 'effects', 'timers']);
    const common = {
      prefix: this.prefix,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: 5,
    };
    const mk = (name: string, fn: (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>, concurrency: number) => {
      const w = new Worker(name, fn, { ...common, connection: this.connection() as unknown as ConnectionOptions, concurrency });
      w.on('error', (err) => this.log.warn({ err: err.message, queue: name }, 'worker error'));
      w.on('failed', (job, err) => this.log.warn({ err: err.message, queue: name, jobId: job?.id }, 'job failed'));
      this.workers.push(w);
    };
    if (roles.has('drain')) mk('drain', (job) => this.drain(job.data.id as string), opts.drainConcurrency ?? 50);
    if (roles.has('effects')) {
      mk('effects', (job, token, signal) => this.runEffect(job as Job<EffectJobData>, signal), opts.effectConcurrency ?? 8);
      this.watchdog.stop();
      this.watchdog = new Watchdog(this.clock, opts.watchdogIntervalMs ?? 5000);
      this.watchdog.start();
    }
    if (roles.has('timers')) mk('timers', (job) => this.fireTimer(job as Job<TimerJobData>), 20);
  }

  private connection(): Redis {
    const c = this.redis.duplicate({ maxRetriesPerRequest: null });
    c.on('error', (err) => this.log.debug({ err: err.message }, 'redis connection error'));
    this.connections.push(c);
    return c;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchdog.stop();
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
    for (const c of this.connections) c.disconnect();
    this.redis.disconnect();
  }

  // ---- internals -------------------------------------------------------------

  /** Appends an envelope as it would arrive from a child, timer or effect (tests and recovery tools). */
  async enqueue(id: string, env: InboxEnvelope): Promise<void> {
    await this.redis.rpush(this.keys.inbox(id), JSON.stringify(env));
    await this.scheduleDrain(id);
  }

  private async scheduleDrain(id: string): Promise<void> {
    // at most one drain per machine active, one more waiting: events are applied one machine-step at a time
    await this.queues.drain.add('drain', { id }, { deduplication: { id, keepLastIfActive: true }, removeOnComplete: true, removeOnFail: 1000 });
  }

  private async create(args: { kind: string; id: string; input: unknown; parent?: { id: string; childId: string; key: string } }): Promise<boolean> {
    const result = createRecord(this.registry, this.clock, args);
    const outbox = result.outbox.map((o) => JSON.stringify(o));
    const ok = await this.store.commit({ record: result.record, expectedVersion: 0, consumed: 0, outbox, log: result.log, writeSnapshot: true });
    if (!ok) {
      // already created (a re-dispatched spawn): finish any dispatch a crash interrupted
      await this.flushOutbox(args.id);
      return false;
    }
    if (this.inspect) this.inspect(actorEvent(result.record));
    this.afterCommit(result);
    await this.dispatch(args.id, outbox);
    return true;
  }

  /** One drain job: apply the machine's inbox in batches until it is empty (bounded, for fairness). */
  async drain(id: string): Promise<void> {
    for (let round = 0; round < 16; round++) {
      const cached = this.cache.get(id);
      let { record, envelopes } = await this.store.read(id, this.batchSize, !!cached);
      if (!record) {
        if (envelopes.length) this.log.warn({ machineId: id, events: envelopes.length }, 'events for a machine that does not exist are kept in its inbox');
        return;
      }
      let snapshot: AnyMachineSnapshot;
      if (cached && cached.version === record.version) {
        snapshot = cached.snapshot;
      } else {
        if (cached) ({ record, envelopes } = await this.store.read(id, this.batchSize, false));
        if (!record) return;
        // the last commit was not this process's: its dispatch may have been cut short
        await this.flushOutbox(id);
        const def = this.registry.machines[record.kind];
        if (!def) throw new Error(`machine ${id} is of kind "${record.kind}", which this worker does not know`);
        snapshot = restoreSnapshot(def.machine, record.snapshot);
      }
      if (!envelopes.length) return;
      const result = applyEvents(this.registry, this.clock, record, snapshot, envelopes);
      const outbox = result.outbox.map((o) => JSON.stringify(o));
      const ended = Object.keys(record.children).filter((c) => !result.record.children[c]).map((c) => `progress:${c}`);
      const ok = await this.store.commit({
        record: result.record, expectedVersion: record.version, consumed: envelopes.length, outbox, log: result.log,
        writeSnapshot: result.applied.length > 0, deleteFields: ended,
      });
      if (!ok) {
        this.cache.delete(id);
        this.metrics.commitConflicts.inc();
        continue;
      }
      this.cacheSet(id, result.record.version, result.snapshot);
      this.afterCommit(result);
      await this.dispatch(id, outbox);
      if (envelopes.length < this.batchSize) return;
    }
    await this.scheduleDrain(id);
  }

  private cacheSet(id: string, version: number, snapshot: AnyMachineSnapshot): void {
    this.cache.delete(id);
    this.cache.set(id, { version, snapshot });
    if (this.cache.size > 20_000) this.cache.delete(this.cache.keys().next().value as string);
  }

  private afterCommit(result: StepResult): void {
    const rec = result.record;
    for (const d of result.stateDurations) this.metrics.stateSeconds.observe({ machine: rec.kind, state: d.state }, d.seconds);
    for (const l of result.log) this.metrics.transitions.inc({ machine: rec.kind, from: l.from ?? '', to: l.to });
    for (const s of result.stale) this.metrics.staleEvents.inc({ machine: rec.kind, from: s.from });
    if (result.log.length && this.log.isLevelEnabled('debug')) {
      const log = machineLogger(this.log, rec.kind, rec.id);
      for (const l of result.log) log.debug({ from: l.from, to: l.to, event: l.event, version: l.version }, 'transition');
    }
    if (result.unknownActions.length) {
      machineLogger(this.log, rec.kind, rec.id).warn({ actions: [...new Set(result.unknownActions)] }, 'actions the engine does not run were ignored');
    }
    for (const e of result.emitted) {
      machineLogger(this.log, rec.kind, rec.id).info({ emitted: e }, e.type);
      this.onEmit?.(rec, e);
    }
    if (this.inspect) for (const s of result.steps) for (const e of transitionEvents(rec, s.event, s.snapshot)) this.inspect(e);
  }

  /** Re-dispatches what a crashed process committed but may not have started. */
  private async flushOutbox(id: string): Promise<void> {
    const pending = await this.store.pendingOutbox(id);
    if (pending.length) await this.dispatch(id, pending);
  }

  /** Turns outbox entries into jobs, child machines and events; every step is idempotent. */
  private async dispatch(id: string, raw: string[]): Promise<void> {
    if (!raw.length) return;
    for (const line of raw) {
      const o = JSON.parse(line) as OutboxEntry;
      switch (o.op) {
        case 'effect': {
          const def = this.registry.effects[o.src];
          await this.queues.effects.add(o.src, { machineId: o.machineId, childId: o.childId, key: o.key, src: o.src, input: o.input } satisfies EffectJobData, {
            jobId: o.jobId,
            attempts: def?.attempts ?? 1,
            backoff: { type: 'exponential', delay: def?.backoffMs ?? 1000 },
            // kept a day so a re-dispatch of the same outbox entry is recognised as a duplicate
            removeOnComplete: { age: 86_400 },
            removeOnFail: { age: 7 * 86_400 },
          });
          break;
        }
        case 'timer':
          await this.queues.timers.add('timer', { machineId: o.machineId, sendId: o.sendId, key: o.key, event: o.event } satisfies TimerJobData, {
            jobId: o.jobId, delay: Math.max(0, o.delay), removeOnComplete: { age: 86_400 }, removeOnFail: { age: 86_400 },
          });
          break;
        case 'cancel-timer':
          // best effort: a timer that fires anyway finds no registry entry and is ignored
          await this.queues.timers.remove(o.jobId).catch(() => 0);
          break;
        case 'spawn':
          await this.create({ kind: o.kind, id: o.instanceId, input: o.input, parent: { id: o.parent, childId: o.parentChildId, key: o.parentKey } });
          break;
        case 'notify-parent':
          await this.enqueue(o.parent, o.envelope);
          break;
      }
    }
    await this.store.removeOutbox(id, raw);
  }

  private async runEffect(job: Job<EffectJobData>, signal?: AbortSignal): Promise<unknown> {
    const d = job.data;
    const def = this.registry.effects[d.src];
    const log = machineLogger(this.log, 'effect', d.machineId, { effect: d.src, childId: d.childId, jobId: job.id });
    if (!def) throw new Error(`effect "${d.src}" is not registered in this worker`);
    // skip work whose result would be stale anyway (the machine moved on)
    const children = await this.redis.hget(this.keys.record(d.machineId), 'children');
    if (!children || JSON.parse(children)[d.childId]?.key !== d.key) {
      log.debug('effect no longer wanted by its machine; skipped');
      return { stale: true };
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const jobId = job.id!;
    this.watchdog.watch(jobId, def.timeoutMs ?? DEFAULT_EFFECT_TIMEOUT_MS, controller, () => {
      timedOut = true;
      this.metrics.watchdogTimeouts.inc({ effect: d.src });
      log.warn({ timeoutMs: def.timeoutMs ?? DEFAULT_EFFECT_TIMEOUT_MS }, 'no progress: aborting effect');
    });
    let lastWrite = 0;
    const startedAt = this.clock.now();
    const ctx: EffectContext = {
      machineId: d.machineId, childId: d.childId, signal: controller.signal, log, attempt: job.attemptsMade + 1, scheduledAt: job.timestamp,
      progress: (p) => {
        this.watchdog.progress(jobId);
        const now = this.clock.now();
        if (now - lastWrite < 250) return;
        lastWrite = now;
        this.store.setProgress(d.machineId, d.childId, { ...p, at: now, startedAt }).catch((err) => log.debug({ err: err.message }, 'progress not saved'));
      },
    };
    const reply = (event: EventObject) => this.enqueue(d.machineId, { event, from: 'effect', key: d.key, ref: d.childId, at: this.clock.now() });
    try {
      const output = await def.run(d.input, ctx);
      if (timedOut) throw new WatchdogTimeout(jobId, def.timeoutMs ?? DEFAULT_EFFECT_TIMEOUT_MS);
      await reply({ type: `xstate.done.actor.${d.childId}`, output } as EventObject);
      return { ok: true };
    } catch (err) {
      const data = timedOut
        ? { name: 'WatchdogTimeout', message: new WatchdogTimeout(jobId, def.timeoutMs ?? DEFAULT_EFFECT_TIMEOUT_MS).message, kind: 'temporary' as const, code: 'WATCHDOG_TIMEOUT' }
        : toErrorData(err);
      if (!timedOut && data.kind === 'temporary' && job.attemptsMade + 1 < (def.attempts ?? 1)) throw err;
      log.info({ error: data }, 'effect failed; the machine decides what next');
      await reply({ type: `xstate.error.actor.${d.childId}`, error: data } as EventObject);
      return { ok: false, error: data };
    } finally {
      this.watchdog.unwatch(jobId);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async fireTimer(job: Job<TimerJobData>): Promise<void> {
    const d = job.data;
    await this.enqueue(d.machineId, { event: d.event, from: 'timer', key: d.key, ref: d.sendId, at: this.clock.now() });
  }
}
