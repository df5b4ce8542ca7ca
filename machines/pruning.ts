import { assign, setup } from 'xstate';
import { effect, effectErrorGuards, readEffectError, type EffectError } from './effect.js';
import { attemptsExhausted, backoffMs, unhealthyWaitMs, type RetryPolicy } from './retry.js';

/**
 * The pruning machine: one side (the sender, or one receiver) of one job, in one invocation;
 * zrepl's pruner states.
 *
 * `Plan` runs the `planPrune` effect (list that side's snapshots, work out what replication still
 * needs and protect it, apply the keep rules); a temporary failure waits in `PlanErr` for the named
 * delay `planBackoff`, then plans again. `Exec` destroys the planned snapshots one at a time with the
 * `destroySnapshot` effect, counting each in context, so a worker killed mid-way resumes with the
 * next name (and the effect finds an already destroyed one gone, destroying nothing twice); a
 * temporary failure waits in `ExecErr` (`execBackoff`) and tries the same snapshot again. A dry run
 * ends in `Done` right after the plan. Attempts used up, a permanent error or `ferry.reset`:
 * `PermanentError`. Pure: no I/O and no clock.
 */
export const pruningMachineVersion = '1';

export type PruningSide = 'sender' | 'receiver';

export interface PruningInput {
  /** this machine's id */
  runId: string;
  job: string;
  side: PruningSide;
  /** the endpoint this machine prunes: the sender, or one receiver */
  endpoint: string;
  /** the job's sender and receivers: each pair's newest common version is protected */
  sender: string;
  receivers: string[];
  /** the keep rules of this side (src/retention's KeepRule, validated when the job was stored) */
  rules: unknown[];
  /** the job's snapshot prefix: snapshots of other prefixes are left alone unless a rule names them */
  prefix: string;
  /** glob on filesystem names, as the job's replication */
  filesystems?: string;
  /** plan and report only: nothing is destroyed */
  dryRun?: boolean;
  retry: RetryPolicy;
}

/** Input of the `planPrune` effect. */
export type PrunePlanInput = Omit<PruningInput, 'runId' | 'retry'>;

export interface PrunedSnapshot {
  filesystem: string;
  name: string;
  reason: string;
}

export interface KeptSnapshot {
  filesystem: string;
  name: string;
  reasons: string[];
}

/** Output of `planPrune`: every snapshot of the side, either to destroy or kept, with why. */
export interface PrunePlan {
  destroy: PrunedSnapshot[];
  keep: KeptSnapshot[];
}

/** Input of the `destroySnapshot` effect: one named snapshot, never a filesystem. */
export interface DestroySnapshotInput {
  runId: string;
  job: string;
  side: PruningSide;
  endpoint: string;
  filesystem: string;
  name: string;
  /** 0-based index among the planned snapshots, and their number */
  index: number;
  total: number;
}

export interface DestroySnapshotOutput {
  /** `destroyed` by this call; `gone` already (an earlier attempt of a killed worker); `refused` by the driver (kept) */
  outcome: 'destroyed' | 'gone' | 'refused';
  /** the driver's reason, for `refused` */
  message?: string;
}

export interface PruningContext extends Omit<PruningInput, 'dryRun'> {
  dryRun: boolean;
  plan: PrunePlan | null;
  /** planned snapshots handled so far; the next is plan.destroy[execDone] */
  execDone: number;
  /** snapshots the driver refused to destroy (kept, with its reason) */
  refused: KeptSnapshot[];
  /** temporary failures in a row of the current plan or destroy; TARGET_UNHEALTHY refusals do not count */
  attempt: number;
  /** the wait an unhealthy target asked for, used instead of the backoff; null otherwise */
  waitMs: number | null;
  problem: string | null;
}

export type PruningState = 'Plan' | 'PlanErr' | 'Exec' | 'ExecErr' | 'Done' | 'PermanentError';
export type PruningFinalState = 'Done' | 'PermanentError';

/** What the parent (job) machine and `ferry status` see of a pruning machine. */
export interface PruningSummary {
  side: PruningSide;
  endpoint: string;
  dryRun: boolean;
  /** snapshots destroyed so far (a dry run: that would be destroyed) */
  destroyed: number;
  /** snapshots kept (known once planned) */
  kept: number;
  problem: string | null;
}

export interface PruningOutput extends PruningSummary {
  runId: string;
  state: PruningFinalState;
  destroyedSnapshots: PrunedSnapshot[];
  keptSnapshots: KeptSnapshot[];
}

export type PruningEvent =
  | { type: 'ferry.reset' }
  | { type: 'ferry.wakeup' }
  | { type: 'xstate.done.actor.plan'; output: PrunePlan }
  | { type: 'xstate.error.actor.plan'; error: EffectError }
  | { type: 'xstate.done.actor.destroy'; output: DestroySnapshotOutput }
  | { type: 'xstate.error.actor.destroy'; error: EffectError }
  | { type: 'xstate.after.planBackoff.pruning.PlanErr' }
  | { type: 'xstate.after.execBackoff.pruning.ExecErr' };

/** Pure: the planned snapshots destroyed so far (a dry run: all it would destroy), refusals left out. */
export function destroyedSoFar(context: PruningContext): PrunedSnapshot[] {
  const planned = context.plan?.destroy ?? [];
  const handled = context.dryRun ? planned : planned.slice(0, context.execDone);
  const refused = new Set(context.refused.map((r) => `${r.filesystem}@${r.name}`));
  return handled.filter((d) => !refused.has(`${d.filesystem}@${d.name}`));
}

/** Pure: the kept snapshots: those the plan keeps and those the driver refused. */
export function keptSoFar(context: PruningContext): KeptSnapshot[] {
  return [...(context.plan?.keep ?? []), ...context.refused];
}

/** Pure: the summary the engine sends the parent with each state change. */
export function summarizePruning(context: PruningContext): PruningSummary {
  return {
    side: context.side, endpoint: context.endpoint, dryRun: context.dryRun,
    destroyed: destroyedSoFar(context).length, kept: context.plan ? keptSoFar(context).length : 0, problem: context.problem,
  };
}

function outputOf(context: PruningContext, state: PruningFinalState): PruningOutput {
  return {
    runId: context.runId, state, ...summarizePruning(context),
    destroyedSnapshots: destroyedSoFar(context), keptSnapshots: context.plan ? keptSoFar(context) : [],
  };
}

export const pruningMachine = setup({
  types: {
    input: {} as PruningInput,
    context: {} as PruningContext,
    events: {} as PruningEvent,
    output: {} as PruningOutput,
  },
  actors: {
    planPrune: effect<PrunePlanInput, PrunePlan>(),
    destroySnapshot: effect<DestroySnapshotInput, DestroySnapshotOutput>(),
  },
  delays: {
    planBackoff: ({ context }) => context.waitMs ?? backoffMs(context.retry, context.attempt),
    execBackoff: ({ context }) => context.waitMs ?? backoffMs(context.retry, context.attempt),
  },
  guards: {
    ...effectErrorGuards,
    attemptsExhausted: ({ context }) => attemptsExhausted(context.retry, context.attempt + 1),
    nothingToDestroy: (_, params: { plan: PrunePlan }) => !params.plan?.destroy?.length,
    isDryRun: ({ context }) => context.dryRun,
    isLastDestroy: ({ context }) => context.execDone + 1 >= (context.plan?.destroy.length ?? 0),
  },
  actions: {
    recordPlan: assign((_, params: { plan: PrunePlan }) => ({
      plan: { destroy: params.plan?.destroy ?? [], keep: params.plan?.keep ?? [] }, attempt: 0, waitMs: null, problem: null,
    })),
    recordDestroy: assign(({ context }, params: { output: DestroySnapshotOutput }) => {
      const done = context.plan!.destroy[context.execDone];
      const refused = params.output?.outcome === 'refused'
        ? [...context.refused, { filesystem: done.filesystem, name: done.name, reasons: [`the driver refused to destroy it: ${params.output.message ?? 'no reason given'}`] }]
        : context.refused;
      return { execDone: context.execDone + 1, refused, attempt: 0, waitMs: null, problem: null };
    }),
    recordFailure: assign(({ context }, params: { error: unknown; what: string }) => ({
      attempt: context.attempt + 1, waitMs: null, problem: `${params.what} failed: ${readEffectError(params.error).message}`,
    })),
    recordPermanentFailure: assign(({ context }, params: { error: unknown; what: string }) => ({
      problem: `${params.what} failed: ${readEffectError(params.error).message}`, attempt: context.attempt,
    })),
    giveUp: assign(({ context }, params: { error: unknown; what: string }) => ({
      attempt: context.attempt + 1,
      problem: `${params.what} gave up after ${context.attempt + 1} attempts: ${readEffectError(params.error).message}`,
    })),
    /** nothing was tried: wait as long as the error says, and keep the attempt count */
    recordTargetWait: assign(({ context }, params: { error: unknown; what: string }) => {
      const error = readEffectError(params.error);
      return { waitMs: unhealthyWaitMs(context.retry, context.attempt, error), problem: `${params.what} waits: ${error.message}` };
    }),
    recordReset: assign({ problem: 'reset by operator (ferry signal reset)' }),
  },
}).createMachine({
  id: 'pruning',
  context: ({ input }) => ({
    runId: input.runId,
    job: input.job,
    side: input.side,
    endpoint: input.endpoint,
    sender: input.sender,
    receivers: input.receivers,
    rules: input.rules,
    prefix: input.prefix,
    ...(input.filesystems ? { filesystems: input.filesystems } : {}),
    dryRun: !!input.dryRun,
    retry: input.retry,
    plan: null,
    execDone: 0,
    refused: [],
    attempt: 0,
    waitMs: null,
    problem: null,
  }),
  initial: 'Plan',
  on: {
    'ferry.reset': { target: '.PermanentError', actions: 'recordReset' },
  },
  states: {
    Plan: {
      invoke: {
        id: 'plan',
        src: 'planPrune',
        input: ({ context }) => ({
          job: context.job, side: context.side, endpoint: context.endpoint, sender: context.sender, receivers: context.receivers,
          rules: context.rules, prefix: context.prefix, ...(context.filesystems ? { filesystems: context.filesystems } : {}),
          ...(context.dryRun ? { dryRun: true } : {}),
        }),
        onDone: [
          { guard: 'isDryRun', target: 'Done', actions: { type: 'recordPlan', params: ({ event }) => ({ plan: event.output }) } },
          {
            guard: { type: 'nothingToDestroy', params: ({ event }) => ({ plan: event.output }) },
            target: 'Done',
            actions: { type: 'recordPlan', params: ({ event }) => ({ plan: event.output }) },
          },
          { target: 'Exec', actions: { type: 'recordPlan', params: ({ event }) => ({ plan: event.output }) } },
        ],
        onError: [
          {
            guard: { type: 'isPermanentFailure', params: ({ event }) => ({ error: event.error }) },
            target: 'PermanentError',
            actions: { type: 'recordPermanentFailure', params: ({ event }) => ({ error: event.error, what: 'planning' }) },
          },
          {
            guard: { type: 'isTargetUnhealthy', params: ({ event }) => ({ error: event.error }) },
            target: 'PlanErr',
            actions: { type: 'recordTargetWait', params: ({ event }) => ({ error: event.error, what: 'planning' }) },
          },
          {
            guard: 'attemptsExhausted',
            target: 'PermanentError',
            actions: { type: 'giveUp', params: ({ event }) => ({ error: event.error, what: 'planning' }) },
          },
          { target: 'PlanErr', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error, what: 'planning' }) } },
        ],
      },
    },
    PlanErr: {
      after: { planBackoff: 'Plan' },
      on: { 'ferry.wakeup': 'Plan' },
    },
    Exec: {
      invoke: {
        id: 'destroy',
        src: 'destroySnapshot',
        input: ({ context }) => {
          const next = context.plan!.destroy[context.execDone];
          return {
            runId: context.runId, job: context.job, side: context.side, endpoint: context.endpoint,
            filesystem: next.filesystem, name: next.name, index: context.execDone, total: context.plan!.destroy.length,
          };
        },
        onDone: [
          { guard: 'isLastDestroy', target: 'Done', actions: { type: 'recordDestroy', params: ({ event }) => ({ output: event.output }) } },
          // the next snapshot: re-entering Exec starts a new `destroy` effect
          { target: 'Exec', reenter: true, actions: { type: 'recordDestroy', params: ({ event }) => ({ output: event.output }) } },
        ],
        onError: [
          {
            guard: { type: 'isPermanentFailure', params: ({ event }) => ({ error: event.error }) },
            target: 'PermanentError',
            actions: { type: 'recordPermanentFailure', params: ({ event }) => ({ error: event.error, what: 'destroying' }) },
          },
          {
            guard: { type: 'isTargetUnhealthy', params: ({ event }) => ({ error: event.error }) },
            target: 'ExecErr',
            actions: { type: 'recordTargetWait', params: ({ event }) => ({ error: event.error, what: 'destroying' }) },
          },
          {
            guard: 'attemptsExhausted',
            target: 'PermanentError',
            actions: { type: 'giveUp', params: ({ event }) => ({ error: event.error, what: 'destroying' }) },
          },
          { target: 'ExecErr', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.error, what: 'destroying' }) } },
        ],
      },
    },
    ExecErr: {
      after: { execBackoff: 'Exec' },
      on: { 'ferry.wakeup': 'Exec' },
    },
    Done: { type: 'final', output: ({ context }) => outputOf(context, 'Done') },
    PermanentError: { type: 'final', output: ({ context }) => outputOf(context, 'PermanentError') },
  },
  output: ({ event }) => event.output as PruningOutput,
});
