import { reportCommit, type CommitListeners } from './commit-report.js';
import type { EffectJobData, EngineQueues, TimerJobData } from './queues.js';
import type { ReplicaWait } from './replica-wait.js';
import { createRecord, type CreateArgs, type StepResult } from './step.js';
import type { CommitArgs, CommitOutcome, SnapshotStore } from './store.js';
import type { Clock, InboxEnvelope, OutboxEntry, Registry } from './types.js';

export interface DispatcherDeps {
  store: SnapshotStore;
  queues: EngineQueues;
  registry: Registry;
  clock: Clock;
  listeners: CommitListeners;
  /** the commit is confirmed on replicas before its outbox is dispatched (docs/ha.md) */
  replicas: ReplicaWait;
}

type EffectEntry = Extract<OutboxEntry, { op: 'effect' }>;
type TimerEntry = Extract<OutboxEntry, { op: 'timer' }>;

/**
 * Commits a machine's steps and carries out what they committed: outbox entries become effect and
 * timer jobs, child machines and events in a parent's inbox. Every dispatch step is idempotent
 * (deterministic job ids, children created only if absent), so a crashed process's outbox can be
 * dispatched again by whoever drains next.
 */
export class Dispatcher {
  constructor(private readonly d: DispatcherDeps) {}

  /**
   * THE commit point of the engine: every step of every machine (its creation and each drain batch)
   * becomes durable here and nowhere else. Only a committed step is reported (logs, metrics, hooks)
   * and dispatched (effects start, timers are set, parents hear of it), after the commit returned:
   * whatever must hold before anyone acts on a commit (a wait for replicas, say) belongs between the two.
   */
  async commitStep(result: StepResult, args: Omit<CommitArgs, 'record' | 'log' | 'stats'>): Promise<CommitOutcome> {
    const outcome = await this.d.store.commit({ ...args, record: result.record, log: result.log, stats: result.stats });
    if (!outcome.committed) return outcome;
    // replica-wait: throws before anyone hears of a commit that a failover could take back; the
    // outbox stays, and the next drain confirms it again before dispatching it
    await this.d.replicas.confirm();
    reportCommit(this.d.listeners, result, { expectedVersion: args.expectedVersion, consumed: args.consumed });
    await this.dispatch(result.record.id, args.outbox);
    return outcome;
  }

  /** Appends an envelope to a machine's inbox and schedules its drain if none is coming (see `store.append`). */
  async enqueue(id: string, env: InboxEnvelope): Promise<void> {
    if ((await this.d.store.append(id, env)) === 1) await this.d.queues.scheduleDrain(id);
  }

  /** Creates a machine from its initial transition; false when it exists already. */
  async create(args: CreateArgs): Promise<boolean> {
    const result = createRecord(this.d.registry, this.d.clock, args);
    const outbox = result.outbox.map((o) => JSON.stringify(o));
    const outcome = await this.commitStep(result, { expectedVersion: 0, consumed: 0, outbox, writeSnapshot: true });
    if (!outcome.committed) {
      // already created (a re-dispatched spawn): finish any dispatch a crash interrupted
      await this.flushOutbox(args.id);
      return false;
    }
    // events sent before the machine existed waited for it: their drain found no record
    if (outcome.inboxLeft > 0) await this.d.queues.scheduleDrain(args.id);
    return true;
  }

  /**
   * Re-dispatches what a crashed process (or an unconfirmed commit) left in the outbox: `pending` as
   * the caller already read it, else read here.
   */
  async flushOutbox(id: string, pending?: string[]): Promise<void> {
    pending ??= await this.d.store.pendingOutbox(id);
    if (!pending.length) return;
    await this.d.replicas.confirm({ fence: true }); // replica-wait: another process's commit, confirmed before its effects start
    await this.dispatch(id, pending);
  }

  /**
   * Turns outbox entries (as committed, JSON) into jobs, child machines and events, then removes
   * them. Effect and timer jobs are added in bulk (one MULTI per queue), all kinds at once; only the
   * events for parents keep their order (a child's last state before its result).
   */
  async dispatch(id: string, raw: string[]): Promise<void> {
    if (!raw.length) return;
    const entries = raw.map((line) => JSON.parse(line) as OutboxEntry);
    const of = <T extends OutboxEntry['op']>(op: T) => entries.filter((o): o is Extract<OutboxEntry, { op: T }> => o.op === op);
    // a timer set and cancelled within one batch of events is not set at all (the removal runs beside the adds)
    const cancelled = new Set(of('cancel-timer').map((o) => o.jobId));
    await Promise.all([
      this.addEffects(of('effect')),
      this.addTimers(of('timer').filter((o) => !cancelled.has(o.jobId))),
      // best effort: a timer that fires anyway finds no registry entry and is ignored
      ...of('cancel-timer').map((o) => this.d.queues.timers.remove(o.jobId).catch(() => 0)),
      ...of('spawn').map((o) => this.create({ kind: o.kind, id: o.instanceId, input: o.input, parent: { id: o.parent, childId: o.parentChildId, key: o.parentKey } })),
      (async () => { for (const o of of('notify-parent')) await this.enqueue(o.parent, o.envelope); })(),
    ]);
    await this.d.store.removeOutbox(id, raw);
  }

  private async addEffects(list: EffectEntry[]): Promise<void> {
    if (!list.length) return;
    const { registry, queues } = this.d;
    await queues.effects.addBulk(list.map((o) => {
      const def = registry.effects[o.src];
      return {
        name: o.src,
        data: { machineId: o.machineId, childId: o.childId, key: o.key, src: o.src, input: o.input } satisfies EffectJobData,
        opts: {
          jobId: o.jobId,
          attempts: def?.attempts ?? 1,
          backoff: { type: 'exponential', delay: def?.backoffMs ?? 1000 },
          // kept a day so a re-dispatch of the same outbox entry is recognised as a duplicate
          removeOnComplete: { age: 86_400 },
          removeOnFail: { age: 7 * 86_400 },
        },
      };
    }));
  }

  private async addTimers(list: TimerEntry[]): Promise<void> {
    if (!list.length) return;
    const { queues } = this.d;
    await queues.timers.addBulk(list.map((o) => ({
      name: 'timer',
      data: { machineId: o.machineId, sendId: o.sendId, key: o.key, event: o.event } satisfies TimerJobData,
      opts: queues.timerJobOptions(o.jobId, o.delay),
    })));
  }
}
