import type { AnyMachineSnapshot } from 'xstate';
import type { CommitListeners } from './commit-report.js';
import type { Dispatcher } from './dispatch.js';
import type { EngineQueues } from './queues.js';
import type { ReplicaWait } from './replica-wait.js';
import { applyEvents, restoreSnapshot } from './step.js';
import type { SnapshotStore } from './store.js';
import type { Clock, Registry } from './types.js';

export interface DrainerDeps {
  store: SnapshotStore;
  queues: EngineQueues;
  dispatcher: Dispatcher;
  registry: Registry;
  clock: Clock;
  /** its log, metrics and trace are the drain's too */
  listeners: CommitListeners;
  /** inbox events applied per commit */
  batchSize: number;
  /** the commit is confirmed on replicas before anything else sees it (docs/ha.md) */
  replicas: ReplicaWait;
}

/** drain rounds per job before it yields to other machines (a new job continues) */
const ROUNDS_PER_JOB = 16;
/** restored snapshots kept in memory */
const CACHE_SIZE = 20_000;

/**
 * The drain loop of one machine: read the record with its inbox head, restore its snapshot (or take
 * the one this process committed last), apply the events with pure transitions (step.ts), commit with
 * compare-and-set on the version and dispatch the outbox (`Dispatcher.commitStep`); a lost
 * compare-and-set is re-read and re-applied.
 */
export class Drainer {
  /** restored snapshots by machine id, valid only for the version this process committed last */
  private readonly cache = new Map<string, { version: number; snapshot: AnyMachineSnapshot }>();

  constructor(private readonly d: DrainerDeps) {}

  /**
   * One drain job: apply the machine's inbox in batches until it is empty (bounded, for fairness).
   * Each batch is one read, one commit and one dispatch, however many events it holds; the commit
   * tells how many events are left, and the job goes on while there are (sends that found the inbox
   * non-empty scheduled no drain of their own).
   */
  async drain(id: string): Promise<void> {
    const { store, registry, batchSize } = this.d;
    this.d.listeners.trace?.drainJob?.(id);
    for (let round = 0; round < ROUNDS_PER_JOB; round++) {
      const cached = this.cache.get(id);
      let { record, envelopes, outbox: leftover } = await store.read(id, batchSize, !!cached);
      if (!record) {
        if (envelopes.length) this.d.listeners.log.warn({ machineId: id, events: envelopes.length }, 'events for a machine that does not exist are kept in its inbox');
        return;
      }
      let snapshot: AnyMachineSnapshot;
      if (cached && cached.version === record.version) {
        snapshot = cached.snapshot;
      } else {
        if (cached) ({ record, envelopes, outbox: leftover } = await store.read(id, batchSize, false));
        if (!record) return;
        // the last commit was not this process's: its dispatch may have been cut short
        await this.d.dispatcher.flushOutbox(id, leftover);
        const def = registry.machines[record.kind];
        if (!def) throw new Error(`machine ${id} is of kind "${record.kind}", which this worker does not know`);
        snapshot = restoreSnapshot(def.machine, record.snapshot);
      }
      if (!envelopes.length) return;
      const result = applyEvents(registry, this.d.clock, record, snapshot, envelopes);
      const outbox = result.outbox.map((o) => JSON.stringify(o));
      const ended = Object.keys(record.children).filter((c) => !result.record.children[c]).map((c) => `progress:${c}`);
      const { committed, inboxLeft } = await this.d.dispatcher.commitStep(result, {
        expectedVersion: record.version, consumed: envelopes.length, outbox, writeSnapshot: result.applied.length > 0, deleteFields: ended,
      });
      if (!committed) {
        this.cache.delete(id);
        this.d.listeners.metrics.commitConflicts.inc();
        continue;
      }
      this.remember(id, result.record.version, result.snapshot);
      if (inboxLeft === 0) return;
    }
    await this.d.queues.scheduleDrain(id);
  }

  private remember(id: string, version: number, snapshot: AnyMachineSnapshot): void {
    this.cache.delete(id);
    this.cache.set(id, { version, snapshot });
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
  }
}
