import { assign, enqueueActions, setup } from 'xstate';
import { effect, effectErrorGuards, readEffectError, type EffectError } from './effect.js';
import { DEFAULT_BACKOFF, doubledWaitMs, halvedWaitMs, resolveWaitWindow, type RetryPolicy } from './retry.js';

/**
 * The partition machine: the WAL archiver of one log partition (one storage, one partition) into
 * one sink, acknowledging as one consumer of the log source: (log root, sink, consumer, storage,
 * partition) is its identity, so another sink or consumer on the same partition is another machine.
 *
 * Entries are archived strictly in LSN order, one at a time. `Idle` means caught up (`nextLsn` is
 * above the highest committed LSN heard of); a `ferry.notify` from the log source with new entries
 * starts `Working`, which runs the durable effect `archiveEntry` for a batch from `nextLsn` (at most
 * ARCHIVE_BATCH entries, up to the high water mark) and, on success, the next batch after the last
 * entry it archived, until the high water mark is reached. A temporary failure waits in `WorkingWait` for the
 * named delay `backoff` (5 s doubling to 5 min by default, halved again by each success) and retries
 * the same LSN; `ferry.wakeup` ends the wait at once. A permanent failure (for example an object in
 * the sink with the same key and other content) stops in `Failed`, which is not final: the machine
 * keeps tracking notifications, and `ferry.reset` (an operator fixed the cause) resumes from the
 * same LSN. A notification with nothing new re-acknowledges `nextLsn - 1` from `Idle` through
 * `Acknowledging`, so the log source can prune what was archived before it last heard from us.
 * A low water mark above `nextLsn` is a gap: the entries in between are gone from the log source;
 * the machine emits `archive.gap` (for logs and metrics), counts it and skips ahead.
 * Pure: no I/O and no clock; the engine runs the effects and the timer.
 */
export const partitionMachineVersion = '1';

export interface PartitionInput {
  /** storage name ([A-Za-z0-9_-], validated by the caller) */
  storage: string;
  /** partition id ([A-Za-z0-9_-], validated by the caller) */
  partition: string;
  /** root of the log source, e.g. "/var/lib/node/wal" */
  log: string;
  /** sink url, e.g. "file:///srv/archive" */
  sink: string;
  /** the consumer whose position in the log source this machine moves ([A-Za-z0-9_-], validated by the caller) */
  consumer: string;
  /** the first LSN to archive: the partition's low water mark, or 1 if it is empty */
  nextLsn: number;
  /** waits after temporary failures (`maxAttempts` does not apply: a partition never gives up). @defaultValue DEFAULT_BACKOFF: 5 s doubling to 5 min */
  retry?: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
}

/**
 * Entries one `archiveEntry` effect archives at most: one machine step, one effect job and one
 * acknowledgement per batch rather than per entry; small enough that a batch is a short effect.
 */
export const ARCHIVE_BATCH = 64;

/** Input of the `archiveEntry` effect: archive entries `lsn..upTo` of the partition to the sink, in order. */
export interface ArchiveEntryInput {
  storage: string;
  partition: string;
  log: string;
  sink: string;
  /** absent in effects queued before consumers had names: LEGACY_CONSUMER */
  consumer?: string;
  lsn: number;
  /** the last entry of the batch; absent in effects queued before batches: `lsn` alone */
  upTo?: number;
}

/**
 * Output of the `archiveEntry` effect: entries `lsn..lastLsn` are in the sink and acknowledged
 * (a batch may end early, at a failure: the next effect starts at `lastLsn + 1`).
 */
export interface ArchiveEntryOutput {
  /** of the last entry: `archived`: uploaded now; `present`: the sink already held the same content (not uploaded again) */
  status: 'archived' | 'present';
  bytes: number;
  /** the highest entry archived; absent in the output of a single-entry effect (from before batches): `lsn` */
  lastLsn?: number;
  /** entries uploaded and entries found present; absent from before batches: `status` tells of the one entry */
  archived?: number;
  present?: number;
}

/** Pure: the LSN after the entries an archive effect's output covers, when it was started at `nextLsn`. */
function lsnAfter(nextLsn: number, output: ArchiveEntryOutput | undefined): number {
  const last = output?.lastLsn;
  return typeof last === 'number' && last >= nextLsn ? last + 1 : nextLsn + 1;
}

/** Input of the `acknowledge` effect: the consumer has everything up to `lsn`. */
export interface AcknowledgeInput {
  storage: string;
  partition: string;
  log: string;
  /** absent in effects queued before consumers had names: LEGACY_CONSUMER */
  consumer?: string;
  lsn: number;
}

/**
 * The one consumer name every archiver used before consumers had names. Snapshots of machines
 * started then have no `consumer` in their context and go on acknowledging as this one.
 */
export const LEGACY_CONSUMER = 'archiver';

export interface PartitionLastError {
  code: string;
  message: string;
}

export interface PartitionContext {
  storage: string;
  partition: string;
  log: string;
  sink: string;
  /** absent in snapshots of machines started before consumers had names: LEGACY_CONSUMER */
  consumer?: string;
  /** the next LSN to archive (the one in flight while Working) */
  nextLsn: number;
  /** the highest committed LSN any notification reported */
  highWaterMark: number;
  /**
   * the wait of the next (or, in WorkingWait, the current) backoff; it doubles, up to
   * `retry.maxMs`, each time a wait ends, and halves, down to `retry.initialMs`, on each success
   */
  backoffMs: number;
  /** `initialMs` and `maxMs` only */
  retry: RetryPolicy;
  /** entries uploaded */
  archived: number;
  /** entries found already in the sink with the same content */
  present: number;
  /** gaps in the log sequence skipped */
  gaps: number;
  /** the last failure of an effect (archive or acknowledge); null after a successful archive */
  lastError: PartitionLastError | null;
  /** why the machine is Failed; null otherwise */
  problem: string | null;
}

/** The states of the partition machine. None is final. */
export type PartitionState = 'Idle' | 'Working' | 'WorkingWait' | 'Acknowledging' | 'Failed';

/** From the log source: the partition's committed entries are now `lowWaterMark..highWaterMark`. */
export interface PartitionNotifyEvent {
  type: 'ferry.notify';
  lowWaterMark: number;
  highWaterMark: number;
}

/** Events sent to a partition machine from outside (log source, operator). */
export type PartitionSignal =
  | PartitionNotifyEvent
  /** an operator resolved the cause of `Failed`: go on from the same LSN */
  | { type: 'ferry.reset' }
  /** an operator asks to retry now instead of waiting for the backoff */
  | { type: 'ferry.wakeup' };

/** Every event the machine handles: signals, effect results and its timer. */
export type PartitionEvent =
  | PartitionSignal
  | { type: 'xstate.done.actor.archive'; output: ArchiveEntryOutput }
  | { type: 'xstate.error.actor.archive'; error: EffectError }
  | { type: 'xstate.done.actor.acknowledge'; output?: void }
  | { type: 'xstate.error.actor.acknowledge'; error: EffectError }
  | { type: 'xstate.after.backoff.partition.WorkingWait' };

/** What the machine emits (the engine forwards it to logs and metrics). */
export interface ArchiveGapEvent {
  type: 'archive.gap';
  storage: string;
  partition: string;
  /** the LSN the machine expected to archive next */
  expected: number;
  /** the lowest LSN the log source still has; archiving goes on from here */
  lowWaterMark: number;
}

export type PartitionEmitted = ArchiveGapEvent;

export interface PartitionSummary {
  nextLsn: number;
  highWaterMark: number;
  backoffMs: number;
  archived: number;
  present: number;
  gaps: number;
  lastError: PartitionLastError | null;
  problem: string | null;
}

/**
 * Pure: the durable machine id of a partition's archiver, `wal.<target>.<storage>.<partition>`,
 * where `target` names the (log root, sink, consumer) it archives for (a digest the caller makes:
 * machines hash nothing). Machines started before targets had names are `wal.<storage>.<partition>`.
 */
export function partitionMachineId(target: string, storage: string, partition: string): string {
  return `wal.${target}.${storage}.${partition}`;
}

/** Pure: what status views and the parent see of a partition machine. */
export function summarizePartition(context: PartitionContext): PartitionSummary {
  return {
    nextLsn: context.nextLsn,
    highWaterMark: context.highWaterMark,
    backoffMs: context.backoffMs,
    archived: context.archived,
    present: context.present,
    gaps: context.gaps,
    lastError: context.lastError === null ? null : { ...context.lastError },
    problem: context.problem,
  };
}

/** A non-negative integer LSN from anything (a malformed value counts as 0: no information). */
function toLsn(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** What a notification does to the positions: the gap rule and the high water mark. */
interface NotifyEffect {
  nextLsn: number;
  highWaterMark: number;
  /** the low water mark is above nextLsn: entries were pruned before they were archived */
  gap: boolean;
  /** the notification reports nothing at or above nextLsn */
  nothingNew: boolean;
}

function notifyEffect(context: PartitionContext, event: PartitionNotifyEvent): NotifyEffect {
  const low = toLsn(event.lowWaterMark);
  const high = toLsn(event.highWaterMark);
  const gap = low > context.nextLsn;
  return {
    nextLsn: gap ? low : context.nextLsn,
    highWaterMark: Math.max(context.highWaterMark, high),
    gap,
    nothingNew: !gap && high < context.nextLsn,
  };
}

function lastErrorOf(error: unknown): PartitionLastError {
  const e = readEffectError(error);
  return { code: e.code, message: e.message };
}

/** a failure that leaves the machine running (archive to retry, acknowledge to repeat): only remembered */
const lastErrorUpdate = (_: unknown, params: { error: unknown }): Pick<PartitionContext, 'lastError'> => ({
  lastError: lastErrorOf(params.error),
});

export const partitionMachine = setup({
  types: {
    input: {} as PartitionInput,
    context: {} as PartitionContext,
    events: {} as PartitionSignal,
    emitted: {} as PartitionEmitted,
  },
  actors: {
    archiveEntry: effect<ArchiveEntryInput, ArchiveEntryOutput>(),
    acknowledge: effect<AcknowledgeInput, void>(),
  },
  delays: {
    backoff: ({ context }) => context.backoffMs,
  },
  guards: {
    ...effectErrorGuards,
    /** entries up to the high water mark remain */
    hasWork: ({ context }) => context.nextLsn <= context.highWaterMark,
    caughtUp: ({ context }) => context.nextLsn > context.highWaterMark,
    /** after this archive's entries, entries remain */
    moreAfterThis: ({ context, event }) =>
      lsnAfter(context.nextLsn, (event as { output?: ArchiveEntryOutput }).output) <= context.highWaterMark,
    /** a notification with nothing new, and something archived to re-acknowledge */
    notifyNothingNew: ({ context, event }) =>
      event.type === 'ferry.notify' && notifyEffect(context, event).nothingNew && context.nextLsn - 1 > 0,
    notifyBringsWork: ({ context, event }) => {
      if (event.type !== 'ferry.notify') return false;
      const n = notifyEffect(context, event);
      return n.nextLsn <= n.highWaterMark;
    },
    notifyIsGap: ({ context, event }) => event.type === 'ferry.notify' && notifyEffect(context, event).gap,
    /** a gap that skips past everything known: nothing left to archive */
    notifyIsGapToCaughtUp: ({ context, event }) => {
      if (event.type !== 'ferry.notify') return false;
      const n = notifyEffect(context, event);
      return n.gap && n.nextLsn > n.highWaterMark;
    },
  },
  actions: {
    /** the gap rule and the high water mark of a `ferry.notify`, in any state */
    ingestNotify: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'ferry.notify') return;
      const n = notifyEffect(context, event);
      if (n.gap) {
        enqueue.emit({
          type: 'archive.gap',
          storage: context.storage,
          partition: context.partition,
          expected: context.nextLsn,
          lowWaterMark: n.nextLsn,
        });
      }
      enqueue.assign({
        nextLsn: n.nextLsn,
        highWaterMark: n.highWaterMark,
        gaps: context.gaps + (n.gap ? 1 : 0),
      });
    }),
    recordArchived: assign(({ context }, params: { output: ArchiveEntryOutput | undefined }) => {
      const o = params.output;
      const batch = typeof o?.archived === 'number' && typeof o?.present === 'number';
      const present = batch ? o!.present! : o?.status === 'present' ? 1 : 0;
      const archived = batch ? o!.archived! : 1 - present;
      return {
        nextLsn: lsnAfter(context.nextLsn, o),
        archived: context.archived + archived,
        present: context.present + present,
        backoffMs: halvedWaitMs(context.retry, context.backoffMs),
        lastError: null,
      };
    }),
    recordTemporaryFailure: assign(lastErrorUpdate),
    recordPermanentFailure: assign(({ context }, params: { error: unknown }) => {
      const lastError = lastErrorOf(params.error);
      return { lastError, problem: `archiving LSN ${context.nextLsn} failed (${lastError.code}): ${lastError.message}` };
    }),
    recordAckFailure: assign(lastErrorUpdate),
    /** the wait is over (timer, wakeup or nothing left): the next one is twice as long, up to maxMs */
    doubleBackoff: assign(({ context }) => ({ backoffMs: doubledWaitMs(context.retry, context.backoffMs) })),
    clearProblem: assign({ problem: null }),
  },
}).createMachine({
  id: 'partition',
  context: ({ input }) => {
    const retry = resolveWaitWindow(input.retry, DEFAULT_BACKOFF);
    return {
      storage: input.storage,
      partition: input.partition,
      log: input.log,
      sink: input.sink,
      consumer: input.consumer,
      nextLsn: Math.max(1, toLsn(input.nextLsn)),
      highWaterMark: 0,
      backoffMs: retry.initialMs,
      retry,
      archived: 0,
      present: 0,
      gaps: 0,
      lastError: null,
      problem: null,
    };
  },
  initial: 'Idle',
  on: {
    // every state tracks the log source's positions; Idle, Working and WorkingWait refine this
    'ferry.notify': { actions: 'ingestNotify' },
    // a late failure of an effect this state no longer waits for: ignore it instead of letting
    // XState turn an unhandled error event into a machine error
    'xstate.error.actor.*': {},
  },
  states: {
    Idle: {
      // re-entered with entries pending (after a reset, or a notification during Acknowledging)
      always: { guard: 'hasWork', target: 'Working' },
      on: {
        'ferry.notify': [
          { guard: 'notifyNothingNew', target: 'Acknowledging', actions: 'ingestNotify' },
          { guard: 'notifyBringsWork', target: 'Working', actions: 'ingestNotify' },
          { actions: 'ingestNotify' },
        ],
      },
    },
    Acknowledging: {
      invoke: {
        id: 'acknowledge',
        src: 'acknowledge',
        input: ({ context }) => ({
          storage: context.storage,
          partition: context.partition,
          log: context.log,
          consumer: context.consumer ?? LEGACY_CONSUMER,
          lsn: context.nextLsn - 1,
        }),
        onDone: { target: 'Idle' },
        onError: {
          target: 'Idle',
          actions: { type: 'recordAckFailure', params: ({ event }) => ({ error: event.error }) },
        },
      },
    },
    Working: {
      invoke: {
        id: 'archive',
        src: 'archiveEntry',
        input: ({ context }) => ({
          storage: context.storage,
          partition: context.partition,
          log: context.log,
          sink: context.sink,
          consumer: context.consumer ?? LEGACY_CONSUMER,
          lsn: context.nextLsn,
          upTo: Math.min(context.highWaterMark, context.nextLsn + ARCHIVE_BATCH - 1),
        }),
        onDone: [
          {
            // the next entry: re-entering Working starts a new `archive` effect
            guard: 'moreAfterThis',
            target: 'Working',
            reenter: true,
            actions: { type: 'recordArchived', params: ({ event }) => ({ output: event.output }) },
          },
          {
            target: 'Idle',
            actions: { type: 'recordArchived', params: ({ event }) => ({ output: event.output }) },
          },
        ],
        onError: [
          {
            guard: { type: 'isPermanentFailure', params: ({ event }) => ({ error: event.error }) },
            target: 'Failed',
            actions: { type: 'recordPermanentFailure', params: ({ event }) => ({ error: event.error }) },
          },
          {
            target: 'WorkingWait',
            actions: { type: 'recordTemporaryFailure', params: ({ event }) => ({ error: event.error }) },
          },
        ],
      },
      on: {
        'ferry.notify': [
          // the entry in flight was pruned: drop it and go on from the low water mark
          { guard: 'notifyIsGapToCaughtUp', target: 'Idle', actions: 'ingestNotify' },
          { guard: 'notifyIsGap', target: 'Working', reenter: true, actions: 'ingestNotify' },
          { actions: 'ingestNotify' },
        ],
      },
    },
    WorkingWait: {
      exit: 'doubleBackoff',
      after: {
        backoff: [{ guard: 'caughtUp', target: 'Idle' }, { target: 'Working' }],
      },
      on: {
        'ferry.wakeup': [{ guard: 'caughtUp', target: 'Idle' }, { target: 'Working' }],
      },
    },
    Failed: {
      on: {
        'ferry.reset': { target: 'Idle', actions: 'clearProblem' },
      },
    },
  },
});
