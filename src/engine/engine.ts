import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EventObject } from 'xstate';
import type { Logger } from 'pino';
import { createLogger } from '../util/logger.js';
import type { CommitListeners } from './commit-report.js';
import { Dispatcher } from './dispatch.js';
import { Drainer } from './drain.js';
import { EffectRunner } from './effect-runner.js';
import type { InspectFn } from './inspection.js';
import { assertMachineId, makeKeys } from './keys.js';
import { EngineMetrics } from './metrics.js';
import { EngineQueues, type EffectJobData, type TimerJobData } from './queues.js';
import { Reconciler, type ReconcileReport } from './reconciler.js';
import { confirmPatiently, isReplicaWaitTimeout, ReplicaWait, type ReplicaWaitOptions } from './replica-wait.js';
import type { MachineSnapshotView, MachineSummary } from './engine-reader.js';
import { SnapshotStore } from './store.js';
import { redisStatusOf } from '../util/redis.js';
import { TransitionLog } from './transition-log.js';
import { systemClock, type Clock, type EngineTrace, type InboxEnvelope, type MachineRecord, type Registry, type Stat } from './types.js';
import { Watchdog } from './watchdog.js';
import { EngineWorkers, type WorkerOptions } from './workers.js';

export type { WorkerOptions } from './workers.js';

export interface EngineOptions {
  /**
   * The connection the engine works on; its owner opens it (see `openRedis` in src/util/redis.ts)
   * and closes it after `close()`. The queues and the store use it as it is; each worker gets a
   * duplicate, which the engine closes. It must have `maxRetriesPerRequest: null` (commands wait for
   * a reconnection rather than fail, as BullMQ requires of connections it blocks on) and no
   * `keyPrefix` (use `prefix`).
   */
  redis: Redis;
  registry: Registry;
  /** prefix of every Redis key and BullMQ queue. @defaultValue "ferry" */
  prefix?: string;
  /** @defaultValue the system clock */
  clock?: Clock;
  /** @defaultValue createLogger() (src/util/logger.ts) */
  logger?: Logger;
  /** @defaultValue new EngineMetrics(), in a registry of its own */
  metrics?: EngineMetrics;
  /** receives XState-shaped inspection events per committed transition */
  inspect?: InspectFn;
  /** receives what machines `emit` (after the commit), e.g. to count gaps in a metric */
  onEmit?: (record: MachineRecord, event: EventObject) => void;
  /** counts drain jobs and commits, for benchmarks */
  trace?: EngineTrace;
  /** approximate cap of the transition log stream. @defaultValue 100000 */
  transitionLogMaxLen?: number;
  /** inbox events applied per commit. @defaultValue 64 */
  batchSize?: number;
  /**
   * How long a finished machine (done, error, stopped) is kept after it finished, in milliseconds;
   * then the reconciler's pass removes it: record, inbox, outbox and index entry, children with or
   * after their parent (docs/engine.md "Retention"). 0: kept for good. The CLI's default is 30 days
   * (`--history-days`). @defaultValue 0
   */
  finishedRetentionMs?: number;
  /** how many replicas must hold a commit before its effects start (docs/ha.md). @defaultValue { minReplicas: 'auto', timeoutMs: 1000 } */
  replicas?: ReplicaWaitOptions;
}

/** a retention as given, or an error naming the option */
function checkRetention(ms: number): number {
  if (!(Number.isFinite(ms) && ms >= 0)) throw new Error(`finishedRetentionMs: expected a number of milliseconds ≥ 0 (0: keep for good), got ${String(ms)}`);
  return ms;
}

/** entries the transition log keeps (approximately: XADD MAXLEN ~) unless `transitionLogMaxLen` says otherwise */
export const DEFAULT_TRANSITION_LOG_MAX_LEN = 100_000;

/**
 * The durable machine runtime. Events go to a machine's inbox; a deduplicated drain job
 * applies them in order with pure transitions and commits snapshot, inbox acknowledgement,
 * outbox and transition log atomically; the outbox then becomes BullMQ jobs with
 * idempotent ids. See docs/engine.md. This class is the facade: the drain loop is in drain.ts,
 * the outbox in dispatch.ts, effects in effect-runner.ts and the workers in workers.ts.
 */
export class Engine {
  /** the transition log, to read and follow */
  readonly transitions: TransitionLog;
  readonly metrics: EngineMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly prefix: string;
  private readonly store: SnapshotStore;
  private readonly queues: EngineQueues;
  private readonly dispatcher: Dispatcher;
  private readonly workers: EngineWorkers;
  private readonly reconciler: Reconciler;
  private closed = false;
  private readonly unwatchStatus: () => void;
  private readonly replicas: ReplicaWait;
  private readonly finishedRetentionMs: number;

  constructor(opts: EngineOptions) {
    if (opts.redis.options.maxRetriesPerRequest !== null) {
      throw new Error('the engine\'s Redis connection must have maxRetriesPerRequest: null (open it with openRedis from src/util/redis.ts)');
    }
    this.registry = opts.registry;
    this.prefix = opts.prefix ?? 'ferry';
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? createLogger();
    this.metrics = opts.metrics ?? new EngineMetrics();
    const finishedRetentionMs = (this.finishedRetentionMs = checkRetention(opts.finishedRetentionMs ?? 0));
    const keys = makeKeys(this.prefix);
    this.transitions = new TransitionLog(opts.redis, keys.transitions, (conn) => new ReplicaWait(conn, keys.fence, null, this.log, opts.replicas));
    this.store = new SnapshotStore(opts.redis, keys, opts.transitionLogMaxLen ?? DEFAULT_TRANSITION_LOG_MAX_LEN, this.transitions);
    this.queues = new EngineQueues(opts.redis, this.prefix);
    const listeners: CommitListeners = { registry: this.registry, log: this.log, metrics: this.metrics, inspect: opts.inspect, onEmit: opts.onEmit, trace: opts.trace };
    const replicas = (this.replicas = new ReplicaWait(opts.redis, keys.fence, this.metrics, this.log, opts.replicas));
    const common = { store: this.store, queues: this.queues, registry: this.registry, clock: this.clock, listeners, replicas };

    this.dispatcher = new Dispatcher(common);
    const drainer = new Drainer({ ...common, dispatcher: this.dispatcher, batchSize: opts.batchSize ?? 64 });
    const status = redisStatusOf(opts.redis);
    // an outage is no effect's fault: the watchdog waits it out, then counts silence from its end
    const watchdog = new Watchdog(this.clock, () => !status.up);
    this.metrics.redisUp.set(status.up ? 1 : 0);
    this.unwatchStatus = status.onChange((up) => {
      this.metrics.redisUp.set(up ? 1 : 0);
      if (up) watchdog.restartClocks();
    });
    const effects = new EffectRunner({
      store: this.store, registry: this.registry, clock: this.clock, log: this.log, metrics: this.metrics, watchdog,
      enqueue: (id, env) => this.enqueue(id, env),
    });
    this.workers = new EngineWorkers({
      redis: opts.redis, prefix: this.prefix, log: this.log, watchdog,
      processors: {
        drain: (job) => drainer.drain(job.data.id as string),
        effects: (job, _token, signal) => effects.run(job, signal),
        timers: (job) => this.fireTimer(job.data as TimerJobData),
      },
      // drain and timer jobs that fail for good leave an inbox or a timer entry: the reconciler repairs those
      onFailedForGood: { effects: (job, err) => effects.giveUp(job as Job<EffectJobData>, err) },
    });
    this.reconciler = new Reconciler({
      store: this.store, queues: this.queues, dispatcher: this.dispatcher, clock: this.clock, log: this.log, metrics: this.metrics, finishedRetentionMs,
      giveUp: (job, err) => effects.giveUp(job, err),
    });
  }

  // ---- API ---------------------------------------------------------------

  /** Starts a top-level machine. Idempotent: starting an existing id does nothing and returns false. */
  async start(kind: string, id: string, input: unknown): Promise<boolean> {
    assertMachineId(id);
    const now = this.clock.now();
    let created: boolean;
    let unconfirmed: unknown = null;
    try {
      created = await this.dispatcher.create({ kind, id, input });
    } catch (err) {
      if (!isReplicaWaitTimeout(err)) throw err;
      // committed but not confirmed on replicas: indexed below anyway, so a repeated start (not created again) leaves it listed
      unconfirmed = err;
      created = true;
    }
    // a repeated start indexes too (NX keeps the first time): the first one's index write may be what a failover lost
    await this.store.index(kind, id, now);
    // a replica still catching up (a resync after a failover) gets a few more chances before the
    // caller hears of it; once confirmed, the creation's outbox is dispatched as a crashed one's would be
    if (unconfirmed) await confirmPatiently(unconfirmed, () => this.dispatcher.flushOutbox(id));
    return created;
  }

  /**
   * Appends an event to a machine's inbox; it is applied once, in order, by some worker. Resolves once
   * the event is on the replicas commits wait for (docs/ha.md); a TemporaryError
   * `REPLICA_WAIT_TIMEOUT` says it may be lost in a failover: send it again (a machine ignores what
   * it does not expect).
   */
  async send(id: string, event: EventObject): Promise<void> {
    assertMachineId(id);
    if (!event || typeof event.type !== 'string') throw new Error(`event for ${id} has no type`);
    await this.enqueue(id, { event, from: 'ext', at: this.clock.now() });
    try {
      await this.replicas.confirm();
    } catch (err) {
      if (!isReplicaWaitTimeout(err)) throw err;
      await confirmPatiently(err, () => this.replicas.confirm({ fence: true }));
    }
  }

  /** Appends an envelope as it would arrive from a child, timer or effect (tests and recovery tools). */
  async enqueue(id: string, env: InboxEnvelope): Promise<void> {
    await this.dispatcher.enqueue(id, env);
  }

  // the reads are EngineReader's (src/engine/engine-reader.ts), which read-only commands use without an Engine

  async get(id: string): Promise<MachineRecord | null> {
    return this.store.get(id);
  }

  /** the machine's snapshot context and value, restored */
  async snapshotOf(id: string): Promise<MachineSnapshotView | null> {
    return this.store.snapshotOf(id);
  }

  /** top-level machines of a kind, newest first */
  async list(kind: string, limit = 50): Promise<string[]> {
    return this.store.list(kind, limit);
  }

  /** top-level machines of a kind, newest first, with their creation times (ms since epoch) */
  async listWithTimes(kind: string, limit = 50): Promise<Array<[id: string, createdAt: number]>> {
    return this.store.listWithTimes(kind, limit);
  }

  /** each machine's status, in the order of `ids` (null: no such machine); one round trip */
  async statuses(ids: string[]): Promise<Array<MachineRecord['status'] | null>> {
    return this.store.statuses(ids);
  }

  /** each machine's summary (the fields of a list), in the order of `ids` (null: no such machine); one round trip */
  async summaries(ids: string[]): Promise<Array<MachineSummary | null>> {
    return this.store.summaries(ids);
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

  /** BullMQ job counts of the drain, effects and timers queues, by state */
  async queueCounts(): Promise<Record<string, Record<string, number>>> {
    return this.queues.counts();
  }

  /** the durable numbers machines' commits changed (their definitions' `stats`), as they stand now */
  async stats(): Promise<Stat[]> {
    return this.store.stats();
  }

  /** Starts this process's workers; call once per process that should do work. */
  startWorkers(opts: WorkerOptions = {}): void {
    const retention = checkRetention(opts.finishedRetentionMs ?? this.finishedRetentionMs);
    this.workers.start(opts);
    const every = opts.reconcileIntervalMs ?? 60_000;
    if (every > 0) this.reconciler.start(every, opts.reconcileGraceMs ?? 5000, opts.reconcileAtStart ?? true, retention);
  }

  /**
   * One reconciler pass now (tests, recovery tools): repairs machines that wait on jobs that no longer
   * exist, and removes finished machines older than `finishedRetentionMs` (docs/engine.md). Skipped (`ran: false`) while another worker's pass holds the lock.
   */
  async reconcile(opts: { graceMs?: number } = {}): Promise<ReconcileReport> {
    const graceMs = opts.graceMs ?? 5000;
    return this.reconciler.pass({ graceMs, holdMs: graceMs * 2 + 60_000, release: true });
  }

  /** Stops the workers (letting running jobs finish) and the queues; the connection stays open for its owner to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatchStatus();
    await this.reconciler.stop();
    await this.workers.close();
    await this.queues.close();
    this.replicas.close();
  }

  private async fireTimer(d: TimerJobData): Promise<void> {
    await this.enqueue(d.machineId, { event: d.event, from: 'timer', key: d.key, ref: d.sendId, at: this.clock.now() });
  }
}

