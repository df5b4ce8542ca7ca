import { reportCommit, type CommitListeners } from './commit-report.js';
import type { EffectJobData, EngineQueues, TimerJobData } from './queues.js';
import type { ReplicaWait } from './replica-wait.js';
import { createRecord, type CreateArgs } from './step.js';
import type { SnapshotStore } from './store.js';
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

/**
 * What happens after a commit: its outbox entries become effect and timer jobs, child machines and
 * events in a parent's inbox. Every step is idempotent (deterministic job ids, children created
 * only if absent), so a crashed process's outbox can be dispatched again by whoever drains next.
 */
export class Dispatcher {
  constructor(private readonly d: DispatcherDeps) {}

  /** Appends an envelope to a machine's inbox and schedules its drain. */
  async enqueue(id: string, env: InboxEnvelope): Promise<void> {
    await this.d.store.append(id, env);
    await this.d.queues.scheduleDrain(id);
  }

  /** Creates a machine from its initial transition; false when it exists already. */
  async create(args: CreateArgs): Promise<boolean> {
    const result = createRecord(this.d.registry, this.d.clock, args);
    const outbox = result.outbox.map((o) => JSON.stringify(o));
    const ok = await this.d.store.commit({ record: result.record, expectedVersion: 0, consumed: 0, outbox, log: result.log, writeSnapshot: true, stats: result.stats });
    if (!ok) {
      // already created (a re-dispatched spawn): finish any dispatch a crash interrupted
      await this.flushOutbox(args.id);
      return false;
    }
    await this.d.replicas.confirm(); // replica-wait
    reportCommit(this.d.listeners, result, { expectedVersion: 0, consumed: 0 });
    await this.dispatch(args.id, outbox);
    return true;
  }

  /** Re-dispatches what a crashed process committed but may not have started. */
  async flushOutbox(id: string): Promise<void> {
    const pending = await this.d.store.pendingOutbox(id);
    if (!pending.length) return;
    await this.d.replicas.confirm({ fence: true }); // replica-wait: another process's commit, confirmed before its effects start
    await this.dispatch(id, pending);
  }

  /** Turns outbox entries (as committed, JSON) into jobs, child machines and events, then removes them. */
  async dispatch(id: string, raw: string[]): Promise<void> {
    if (!raw.length) return;
    const { queues, registry } = this.d;
    for (const line of raw) {
      const o = JSON.parse(line) as OutboxEntry;
      switch (o.op) {
        case 'effect': {
          const def = registry.effects[o.src];
          await queues.effects.add(o.src, { machineId: o.machineId, childId: o.childId, key: o.key, src: o.src, input: o.input } satisfies EffectJobData, {
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
          await queues.timers.add('timer', { machineId: o.machineId, sendId: o.sendId, key: o.key, event: o.event } satisfies TimerJobData, queues.timerJobOptions(o.jobId, o.delay));
          break;
        case 'cancel-timer':
          // best effort: a timer that fires anyway finds no registry entry and is ignored
          await queues.timers.remove(o.jobId).catch(() => 0);
          break;
        case 'spawn':
          await this.create({ kind: o.kind, id: o.instanceId, input: o.input, parent: { id: o.parent, childId: o.parentChildId, key: o.parentKey } });
          break;
        case 'notify-parent':
          await this.enqueue(o.parent, o.envelope);
          break;
      }
    }
    await this.d.store.removeOutbox(id, raw);
  }
}
