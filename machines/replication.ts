import { assign, enqueueActions, setup, stopChild } from 'xstate';
import {
  allChildrenCompleted,
  allChildrenDone,
  childMachineFailed,
  failedChildrenSummary,
  isUnfinishedChild,
  releasedChildId,
  updateUnfinishedChild,
  type ChildEntry,
} from './children.js';
import { effect, effectErrorGuards, readEffectError, type EffectError } from './effect.js';
import {
  type FilesystemFinalState,
  type FilesystemInput,
  type FilesystemOutput,
  type FilesystemState,
  type FilesystemSummary,
  type Step,
} from './filesystem.js';
import { attemptsExhausted, backoffMs, unhealthyWaitMs, type RetryPolicy } from './retry.js';
import { hasSendOptions, shareOfLimit, type JobSendOptions } from './send-options.js';
import { effectMs, type EffectTiming, type StepsTiming } from './timing.js';

/**
 * The replication machine: one run from one sender endpoint to one receiver endpoint.
 *
 * `Planning` runs the `plan` effect (list filesystems and versions on both sides, compute each
 * filesystem's incremental path). A temporary planning failure waits in `PlanningError` for the named
 * delay `planningBackoff` and plans again; a planning refused with TARGET_UNHEALTHY (an agent is down)
 * waits there too, for the time the error carries, without counting an attempt. `Working` spawns one filesystem machine per planned
 * filesystem (child ids `fs-<index>`), at most `concurrency` of them working at a time; a child that
 * waits for its retry time gives its slot to the next one, so one failing filesystem never blocks the
 * others. `WorkingWait` means every unfinished child is waiting for its retry time. The run ends in
 * `Completed` when every filesystem completed, else in `PermanentError` naming the failed ones.
 * Pure: no I/O and no clock; times arrive in events (`ferry.child.state`'s sleepUntil).
 */
export const replicationMachineVersion = '1';

export type InitialReplicationPolicy = 'most_recent' | 'all' | 'fail';

export interface ReplicationInput {
  runId: string;
  /** the job this run belongs to (absent for a one-off `ferry replicate`): labels its metrics */
  job?: string;
  /** sender endpoint, e.g. "zfs:p1/data" */
  sender: string;
  /** receiver endpoint, e.g. "zfs:p2/backup" */
  receiver: string;
  /** what to send to a receiver filesystem that has no versions yet */
  initial: InitialReplicationPolicy;
  /** filesystems working at the same time (at least 1) */
  concurrency: number;
  /** optional glob on sender filesystem names (`*`, `?`), passed to the planner */
  filesystems?: string;
  /** send all intermediate snapshots in one stream where the driver can (zfs send -I) */
  batch?: boolean;
  /** only snapshots whose name matches this regular expression are replicated */
  includeSnapshots?: string;
  /** snapshots whose name matches this regular expression are not replicated */
  excludeSnapshots?: string;
  /** zfs send/receive flags and the bandwidth limit, passed to the plan and to every step */
  send?: JobSendOptions;
  /** for planning and, per step, for every filesystem */
  retry: RetryPolicy;
}

/** Input of the `plan` effect. */
export interface PlanInput {
  runId: string;
  sender: string;
  receiver: string;
  initial: InitialReplicationPolicy;
  filesystems?: string;
  includeSnapshots?: string;
  excludeSnapshots?: string;
  batch?: boolean;
  /** checked against the drivers (zfs-only flags) and used for the dry run's size estimates */
  send?: JobSendOptions;
}

/** One filesystem of a plan: its incremental path, or the conflict that prevents one. */
export interface FilesystemPlan {
  name: string;
  steps: Step[];
  /** a conflict a person must resolve; the filesystem machine stops in PermanentError with it */
  problem?: string;
}

/** Output of the `plan` effect. */
export interface Plan extends EffectTiming {
  filesystems: FilesystemPlan[];
}

/** Where a planned filesystem is, as the replication machine last heard. */
export type FilesystemEntryState = 'Pending' | FilesystemState;

/**
 * The replication machine's record of one planned filesystem (also the report's source): `index`
 * in the plan, child id `fs-<index>`.
 */
export interface FilesystemEntry extends ChildEntry {
  name: string;
  steps: Step[];
  /** the planning conflict, if any */
  planProblem: string | null;
  /** 'Pending' until spawned, then the child's last reported top-level state */
  state: FilesystemEntryState;
  stepsDone: number;
  stepsTotal: number;
  /** epoch ms of the child's next retry while it waits, else null */
  sleepUntil: number | null;
  /** the child's completed steps' times, as its summaries said (absent before the first step) */
  timing?: StepsTiming;
}

export interface ReplicationContext {
  runId: string;
  /** the job of the input (absent in one-off runs and in snapshots of older versions) */
  job?: string;
  sender: string;
  receiver: string;
  initial: InitialReplicationPolicy;
  concurrency: number;
  /** the filesystem glob of the input, or null */
  filter: string | null;
  batch: boolean;
  /** snapshot name filters (regular expressions) of the input */
  includeSnapshots: string | null;
  excludeSnapshots: string | null;
  /** the input's send options when any is set (absent in plain runs and older snapshots) */
  send?: JobSendOptions;
  retry: RetryPolicy;
  /** failed planning attempts in a row; TARGET_UNHEALTHY refusals do not count */
  attempt: number;
  /** set while planning waits for an unhealthy target: the wait its error asked for (absent in older snapshots) */
  waitMs?: number | null;
  /** why planning failed or the run failed; null otherwise */
  problem: string | null;
  /** one entry per planned filesystem, in plan order; empty until planned */
  filesystems: FilesystemEntry[];
  /** how long the successful planning took, by the plan effect's own times (absent in older snapshots) */
  planningMs?: number;
}

export type ReplicationState = 'Planning' | 'PlanningError' | 'Working' | 'WorkingWait' | 'Completed' | 'PermanentError';
export type ReplicationFinalState = 'Completed' | 'PermanentError';

export interface ReplicationOutput {
  runId: string;
  sender: string;
  receiver: string;
  state: ReplicationFinalState;
  problem: string | null;
  /** bytes of all filesystems */
  bytes: number;
  /** the outputs of the filesystem machines, in plan order (empty if planning failed) */
  filesystems: FilesystemOutput[];
}

/** Sent by the engine to the parent whenever a filesystem machine's top-level state changes. */
export interface ChildStateEvent {
  type: 'ferry.child.state';
  childId: string;
  state: FilesystemState;
  summary: FilesystemSummary;
  /** epoch ms of the child's next timer, if it is waiting */
  sleepUntil?: number;
}

export interface ChildDoneEvent {
  type: `xstate.done.actor.fs-${number}`;
  output: FilesystemOutput;
}

export interface ChildErrorEvent {
  type: `xstate.error.actor.fs-${number}`;
  error: unknown;
}

/** Events the engine delivers to a replication machine (besides plan results and timers). */
export type ReplicationEvent = ChildStateEvent | ChildDoneEvent | ChildErrorEvent | { type: 'ferry.reset' } | { type: 'ferry.wakeup' };

/** What a parent (a job machine) hears of a replication machine with each of its state changes. */
export interface ReplicationSummary {
  bytes: number;
  problem: string | null;
}

/** Pure: the summary the engine sends to the parent with each top-level state change. */
export function summarizeReplication(context: ReplicationContext): ReplicationSummary {
  return { bytes: context.filesystems.reduce((sum, e) => sum + e.bytes, 0), problem: context.problem };
}

/** Every event the machine can receive, including the `plan` effect's results and its timer. */
export type ReplicationMachineEvent =
  | ReplicationEvent
  | { type: 'xstate.done.actor.plan'; output: Plan }
  | { type: 'xstate.error.actor.plan'; error: EffectError }
  | { type: 'xstate.after.planningBackoff.replication.PlanningError' };

/** Pure: `fs-<index>`, the id of the filesystem machine for the plan's index-th filesystem. */
export function filesystemChildId(index: number): string {
  return `fs-${index}`;
}

function isFinalState(state: FilesystemEntryState): state is FilesystemFinalState {
  return state === 'Completed' || state === 'PermanentError';
}

/** A spawned, unfinished child that is not waiting for a retry holds a concurrency slot. */
function holdsSlot(e: FilesystemEntry): boolean {
  return e.state !== 'Pending' && !e.done && e.state !== 'WorkingWait' && !isFinalState(e.state);
}

function outputOf(context: ReplicationContext, state: ReplicationFinalState): ReplicationOutput {
  const filesystems = context.filesystems
    .filter((e) => e.done)
    .map((e): FilesystemOutput => ({
      name: e.name,
      state: e.state === 'Completed' ? 'Completed' : 'PermanentError',
      stepsDone: e.stepsDone,
      stepsTotal: e.stepsTotal,
      bytes: e.bytes,
      problem: e.problem,
    }));
  return {
    runId: context.runId,
    sender: context.sender,
    receiver: context.receiver,
    state,
    problem: context.problem,
    bytes: filesystems.reduce((sum, f) => sum + f.bytes, 0),
    filesystems,
  };
}

export const replicationMachine = setup({
  types: {
    input: {} as ReplicationInput,
    context: {} as ReplicationContext,
    events: {} as ReplicationEvent,
    output: {} as ReplicationOutput,
  },
  actors: {
    plan: effect<PlanInput, Plan>(),
    /** placeholder: the engine runs `filesystem` children as durable filesystem machines */
    filesystem: effect<FilesystemInput, FilesystemOutput>(),
  },
  delays: {
    planningBackoff: ({ context }) => context.waitMs ?? backoffMs(context.retry, context.attempt),
  },
  guards: {
    ...effectErrorGuards,
    planningAttemptsExhausted: ({ context }) => attemptsExhausted(context.retry, context.attempt + 1),
    /** a done/error event of one of our spawned filesystem children that is not recorded yet */
    isUnfinishedChild: ({ context, event }) => isUnfinishedChild(context.filesystems, event),
    childReportsWorking: ({ context, event }) =>
      event.type === 'ferry.child.state' && event.state === 'Working' && isUnfinishedChild(context.filesystems, event),
    allCompleted: ({ context }) => allChildrenCompleted(context.filesystems),
    allDone: ({ context }) => allChildrenDone(context.filesystems),
    /** nothing pending, and every unfinished child waits for its retry time */
    allWaiting: ({ context }) => {
      const unfinished = context.filesystems.filter((e) => !e.done);
      return unfinished.length > 0 && unfinished.every((e) => e.state === 'WorkingWait');
    },
  },
  actions: {
    storePlan: assign(({ context }, params: { plan: Plan }) => ({
      planningMs: (context.planningMs ?? 0) + effectMs(params.plan),
      attempt: 0,
      waitMs: null,
      problem: null,
      filesystems: (params.plan?.filesystems ?? []).map((fs, index): FilesystemEntry => ({
        index,
        childId: filesystemChildId(index),
        name: fs.name,
        steps: fs.steps ?? [],
        planProblem: fs.problem ?? null,
        state: 'Pending',
        done: false,
        stepsDone: 0,
        stepsTotal: (fs.steps ?? []).length,
        bytes: 0,
        problem: fs.problem ?? null,
        sleepUntil: null,
      })),
    })),
    recordPlanningFailure: assign(({ context }, params: { error: unknown }) => ({
      attempt: context.attempt + 1,
      waitMs: null,
      problem: `planning failed: ${readEffectError(params.error).message}`,
    })),
    /** nothing was tried: wait as long as the error says, and keep the attempt count */
    recordPlanningWait: assign(({ context }, params: { error: unknown }) => {
      const error = readEffectError(params.error);
      return { waitMs: unhealthyWaitMs(context.retry, context.attempt, error), problem: `planning waits: ${error.message}` };
    }),
    giveUpPlanning: assign(({ context }, params: { error: unknown }) => ({
      attempt: context.attempt + 1,
      problem: `planning gave up after ${context.attempt + 1} attempts: ${readEffectError(params.error).message}`,
    })),
    recordPermanentPlanningFailure: assign((_, params: { error: unknown }) => ({
      problem: `planning failed: ${readEffectError(params.error).message}`,
    })),
    /** spawn pending filesystem machines into the free concurrency slots, in plan order */
    fillSlots: enqueueActions(({ context, enqueue }) => {
      const free = context.concurrency - context.filesystems.filter(holdsSlot).length;
      if (free <= 0) return;
      const starting = context.filesystems.filter((e) => e.state === 'Pending').slice(0, free);
      if (starting.length === 0) return;
      const startingIndexes = new Set(starting.map((e) => e.index));
      enqueue.assign({
        filesystems: context.filesystems.map((e) => (startingIndexes.has(e.index) ? { ...e, state: 'Working' as const } : e)),
      });
      for (const e of starting) {
        const input: FilesystemInput = {
          runId: context.runId,
          ...(context.job !== undefined ? { job: context.job } : {}),
          name: e.name,
          sender: context.sender,
          receiver: context.receiver,
          steps: e.steps,
          retry: context.retry,
          ...(e.planProblem !== null ? { problem: e.planProblem } : {}),
          ...(context.batch ? { batch: true } : {}),
          // at most `concurrency` filesystems stream at once: each gets its share of the bandwidth limit
          ...(context.send ? { send: shareOfLimit(context.send, Math.min(context.concurrency, context.filesystems.length)) } : {}),
        };
        enqueue.spawnChild('filesystem', { id: e.childId, input });
      }
    }),
    recordChildState: assign(({ context }, params: { event: ChildStateEvent }) => {
      const { state, summary, sleepUntil } = params.event;
      const filesystems = updateUnfinishedChild(context.filesystems, params.event, (entry): FilesystemEntry => ({
        ...entry,
        state,
        stepsDone: summary?.stepsDone ?? entry.stepsDone,
        stepsTotal: summary?.stepsTotal ?? entry.stepsTotal,
        bytes: summary?.bytes ?? entry.bytes,
        problem: summary === undefined ? entry.problem : summary.problem,
        timing: summary?.timing ?? entry.timing,
        sleepUntil: state === 'WorkingWait' && typeof sleepUntil === 'number' ? sleepUntil : null,
      }));
      return filesystems ? { filesystems } : {};
    }),
    recordChildDone: assign(({ context }, params: { type: string; output: FilesystemOutput | undefined }) => {
      const out = params.output;
      const filesystems = updateUnfinishedChild(context.filesystems, params, (entry): FilesystemEntry => ({
        ...entry,
        done: true,
        state: out?.state === 'Completed' ? 'Completed' : 'PermanentError',
        stepsDone: out?.stepsDone ?? entry.stepsDone,
        stepsTotal: out?.stepsTotal ?? entry.stepsTotal,
        bytes: out?.bytes ?? entry.bytes,
        problem: out === undefined ? 'filesystem machine finished without output' : out.problem,
        timing: out?.timing ?? entry.timing,
        sleepUntil: null,
      }));
      return filesystems ? { filesystems } : {};
    }),
    /** the filesystem machine itself failed (a bug or a corrupt snapshot): that filesystem failed */
    recordChildError: assign(({ context }, params: { type: string; error: unknown }) => {
      const filesystems = updateUnfinishedChild(context.filesystems, params, (entry): FilesystemEntry => ({
        ...entry, ...childMachineFailed('filesystem', params.error), sleepUntil: null,
      }));
      return filesystems ? { filesystems } : {};
    }),
    /** drop a finished child from the snapshot's children (its output is in context) */
    releaseChild: stopChild(releasedChildId),
    recordRunFailure: assign(({ context }) => ({ problem: failedChildrenSummary(context.filesystems, 'filesystems', (e) => e.name) })),
    recordReset: assign({ problem: 'reset by operator (ferry signal reset)' }),
  },
}).createMachine({
  id: 'replication',
  context: ({ input }) => ({
    runId: input.runId,
    ...(input.job !== undefined ? { job: input.job } : {}),
    sender: input.sender,
    receiver: input.receiver,
    initial: input.initial ?? 'most_recent',
    concurrency: Math.max(1, Math.floor(Number(input.concurrency)) || 1),
    filter: input.filesystems ?? null,
    batch: input.batch ?? false,
    includeSnapshots: input.includeSnapshots ?? null,
    excludeSnapshots: input.excludeSnapshots ?? null,
    ...(hasSendOptions(input.send) ? { send: input.send } : {}),
    retry: input.retry,
    attempt: 0,
    waitMs: null,
    problem: null,
    filesystems: [],
  }),
  initial: 'Planning',
  on: {
    // zrepl's `signal reset`: give up this run; the signal is delivered to the children as well
    'ferry.reset': { target: '.PermanentError', actions: 'recordReset' },
    // a late result of an effect or child this state no longer waits for: ignore it instead of
    // letting XState turn an unhandled error event into a machine error
    'xstate.error.actor.*': {},
  },
  states: {
    Planning: {
      invoke: {
        id: 'plan',
        src: 'plan',
        input: ({ context }) => ({
          runId: context.runId,
          sender: context.sender,
          receiver: context.receiver,
          initial: context.initial,
          ...(context.filter !== null ? { filesystems: context.filter } : {}),
          ...(context.includeSnapshots !== null ? { includeSnapshots: context.includeSnapshots } : {}),
          ...(context.excludeSnapshots !== null ? { excludeSnapshots: context.excludeSnapshots } : {}),
          ...(context.batch ? { batch: true } : {}),
          ...(context.send ? { send: context.send } : {}),
        }),
        onDone: {
          target: 'Working',
          actions: { type: 'storePlan', params: ({ event }) => ({ plan: event.output }) },
        },
        onError: [
          {
            guard: { type: 'isPermanentFailure', params: ({ event }) => ({ error: event.error }) },
            target: 'PermanentError',
            actions: { type: 'recordPermanentPlanningFailure', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: { type: 'isTargetUnhealthy', params: ({ event }) => ({ error: event.error }) },
            target: 'PlanningError',
            actions: { type: 'recordPlanningWait', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: 'planningAttemptsExhausted',
            target: 'PermanentError',
            actions: { type: 'giveUpPlanning', params: ({ event }) => ({ error: event.error }) },
          },
          {
            target: 'PlanningError',
            actions: { type: 'recordPlanningFailure', params: ({ event }) => ({ error: event.error }) },
          },
        ],
      },
    },
    PlanningError: {
      after: { planningBackoff: 'Planning' },
      // zrepl's `signal wakeup`: retry now instead of at the end of the wait
      on: { 'ferry.wakeup': 'Planning' },
    },
    Working: {
      entry: 'fillSlots',
      always: [
        { guard: 'allCompleted', target: 'Completed' },
        { guard: 'allDone', target: 'PermanentError', actions: 'recordRunFailure' },
        { guard: 'allWaiting', target: 'WorkingWait' },
      ],
      on: {
        'ferry.child.state': {
          actions: [{ type: 'recordChildState', params: ({ event }) => ({ event }) }, 'fillSlots'],
        },
        'xstate.done.actor.*': {
          guard: 'isUnfinishedChild',
          actions: [
            { type: 'recordChildDone', params: ({ event }) => ({ type: event.type, output: event.output }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
            'fillSlots',
          ],
        },
        'xstate.error.actor.*': {
          guard: 'isUnfinishedChild',
          actions: [
            { type: 'recordChildError', params: ({ event }) => ({ type: event.type, error: event.error }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
            'fillSlots',
          ],
        },
      },
    },
    WorkingWait: {
      on: {
        'ferry.child.state': [
          {
            guard: 'childReportsWorking',
            target: 'Working',
            actions: { type: 'recordChildState', params: ({ event }) => ({ event }) },
          },
          { actions: { type: 'recordChildState', params: ({ event }) => ({ event }) } },
        ],
        'xstate.done.actor.*': {
          guard: 'isUnfinishedChild',
          target: 'Working',
          actions: [
            { type: 'recordChildDone', params: ({ event }) => ({ type: event.type, output: event.output }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
          ],
        },
        'xstate.error.actor.*': {
          guard: 'isUnfinishedChild',
          target: 'Working',
          actions: [
            { type: 'recordChildError', params: ({ event }) => ({ type: event.type, error: event.error }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
          ],
        },
      },
    },
    Completed: {
      type: 'final',
      output: ({ context }) => outputOf(context, 'Completed'),
    },
    PermanentError: {
      type: 'final',
      output: ({ context }) => outputOf(context, 'PermanentError'),
    },
  },
  output: ({ event }) => event.output as ReplicationOutput,
});
