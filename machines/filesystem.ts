import { assign, setup } from 'xstate';
import { effect, effectErrorGuards, readEffectError, type EffectError } from './effect.js';
import { attemptsExhausted, backoffMs, unhealthyWaitMs, type RetryPolicy } from './retry.js';
import type { Version } from './version.js';
import { hasSendOptions, type JobSendOptions } from './send-options.js';
import { addStepTiming, type EffectTiming, type StepsTiming } from './timing.js';

/**
 * The filesystem machine: one filesystem in one replication run.
 *
 * Its work is a list of steps (the incremental path, `[from, to]` pairs computed by the planner).
 * `Working` runs the next step as the durable effect `replicateStep`; a temporary failure waits in
 * `WorkingWait` for the named delay `retryBackoff` and tries the same step again; `Completed` when the
 * last step is done; `PermanentError` on a planning conflict, a permanent failure, or when the step's
 * attempts are used up. A step refused with TARGET_UNHEALTHY (an agent it needs is down, so nothing
 * was tried) also waits in `WorkingWait`, for the time the error carries (the target's next health
 * check) and without counting an attempt: a long outage delays the filesystem, it does not fail it.
 * Pure: no I/O, no clock; the engine runs the effect and the timer.
 */
export const filesystemMachineVersion = '1';

/** One replication step: a full send (`from` null) or an incremental send from `from` to `to`. */
export interface Step {
  from: Version | null;
  to: Version;
  /** the stream also carries every sender snapshot between `from` and `to` (zfs send -I) */
  intermediates?: boolean;
}

export interface FilesystemInput {
  runId: string;
  /** the job of the run (absent for a one-off `ferry replicate`): labels its metrics */
  job?: string;
  /** filesystem name relative to the endpoint roots (the same on both sides) */
  name: string;
  /** sender endpoint, e.g. "zfs:p1/data" */
  sender: string;
  /** receiver endpoint, e.g. "zfs:p2/backup" */
  receiver: string;
  steps: Step[];
  /** a planning conflict: the machine stops in PermanentError with this problem without doing anything */
  problem?: string;
  /** passed through to every replicateStep input */
  batch?: boolean;
  /** passed through to every replicateStep input */
  send?: JobSendOptions;
  retry: RetryPolicy;
}

/** Input of the `replicateStep` effect. */
export interface ReplicateStepInput {
  runId: string;
  sender: string;
  receiver: string;
  filesystem: string;
  step: Step;
  /** 0-based index of `step` among the filesystem's steps */
  index: number;
  total: number;
  batch?: boolean;
  /** the job's zfs send/receive flags and bandwidth limit */
  send?: JobSendOptions;
}

/** Output of the `replicateStep` effect. */
export interface ReplicateStepOutput extends EffectTiming {
  /** bytes the step carried */
  bytes: number;
}

export interface FilesystemContext {
  runId: string;
  /** the job of the input (absent in one-off runs and in snapshots of older versions) */
  job?: string;
  name: string;
  sender: string;
  receiver: string;
  steps: Step[];
  batch: boolean;
  /** the input's send options when any is set (absent in plain runs and older snapshots) */
  send?: JobSendOptions;
  retry: RetryPolicy;
  /** steps completed so far; the next step to run is steps[stepsDone] */
  stepsDone: number;
  /** bytes carried by the completed steps */
  bytes: number;
  /** temporary failures of the current step in a row (0 after a success); TARGET_UNHEALTHY refusals do not count */
  attempt: number;
  /**
   * set while waiting for an unhealthy target: the wait its error asked for, used by `retryBackoff`
   * instead of the backoff; null otherwise (absent in snapshots of older versions: same as null)
   */
  waitMs?: number | null;
  /** the planning conflict, the last failure, or null */
  problem: string | null;
  /** the completed steps' times (absent in snapshots of older versions and before the first step) */
  timing?: StepsTiming;
}

/** The top-level states of the filesystem machine (`Start` is transient and never at rest). */
export type FilesystemState = 'Working' | 'WorkingWait' | 'Completed' | 'PermanentError';
export type FilesystemFinalState = 'Completed' | 'PermanentError';

export interface FilesystemOutput {
  name: string;
  state: FilesystemFinalState;
  stepsDone: number;
  stepsTotal: number;
  bytes: number;
  problem: string | null;
  timing?: StepsTiming;
}

/** What the parent (replication) machine sees of a filesystem machine, see `ferry.child.state`. */
export interface FilesystemSummary {
  stepsDone: number;
  stepsTotal: number;
  bytes: number;
  problem: string | null;
  timing?: StepsTiming;
}

/** The events the engine delivers to a filesystem machine. */
export type FilesystemEvent =
  | { type: 'ferry.reset' }
  | { type: 'ferry.wakeup' }
  | { type: 'xstate.done.actor.step'; output: ReplicateStepOutput }
  | { type: 'xstate.error.actor.step'; error: EffectError }
  | { type: 'xstate.after.retryBackoff.filesystem.WorkingWait' };

/** Pure: the summary the engine sends to the parent with each top-level state change. */
export function summarizeFilesystem(context: FilesystemContext): FilesystemSummary {
  return {
    stepsDone: context.stepsDone,
    stepsTotal: context.steps.length,
    bytes: context.bytes,
    problem: context.problem,
    ...(context.timing ? { timing: context.timing } : {}),
  };
}

function outputOf(context: FilesystemContext, state: FilesystemFinalState): FilesystemOutput {
  return { name: context.name, state, ...summarizeFilesystem(context) };
}

export const filesystemMachine = setup({
  types: {
    input: {} as FilesystemInput,
    context: {} as FilesystemContext,
    output: {} as FilesystemOutput,
  },
  actors: {
    replicateStep: effect<ReplicateStepInput, ReplicateStepOutput>(),
  },
  delays: {
    retryBackoff: ({ context }) => context.waitMs ?? backoffMs(context.retry, context.attempt),
  },
  guards: {
    ...effectErrorGuards,
    hasProblem: ({ context }) => context.problem !== null,
    noStepsLeft: ({ context }) => context.stepsDone >= context.steps.length,
    isLastStep: ({ context }) => context.stepsDone + 1 >= context.steps.length,
    attemptsExhausted: ({ context }) => attemptsExhausted(context.retry, context.attempt + 1),
  },
  actions: {
    recordStep: assign(({ context }, params: { output: ReplicateStepOutput }) => ({
      stepsDone: context.stepsDone + 1,
      bytes: context.bytes + (Number.isFinite(params.output?.bytes) ? Math.max(0, params.output.bytes) : 0),
      timing: addStepTiming(context.timing, params.output),
      attempt: 0,
      waitMs: null,
      problem: null,
    })),
    recordPermanentFailure: assign((_, params: { error: unknown }) => ({
      problem: readEffectError(params.error).message,
    })),
    recordTemporaryFailure: assign(({ context }, params: { error: unknown }) => ({
      attempt: context.attempt + 1,
      waitMs: null,
      problem: readEffectError(params.error).message,
    })),
    recordReset: assign({ problem: 'reset by operator (ferry signal reset)' }),
    /** nothing was tried: wait as long as the error says, and keep the attempt count */
    recordTargetWait: assign(({ context }, params: { error: unknown }) => {
      const error = readEffectError(params.error);
      return { waitMs: unhealthyWaitMs(context.retry, context.attempt, error), problem: error.message };
    }),
    giveUp: assign(({ context }, params: { error: unknown }) => ({
      attempt: context.attempt + 1,
      problem: `gave up after ${context.attempt + 1} attempts: ${readEffectError(params.error).message}`,
    })),
  },
}).createMachine({
  id: 'filesystem',
  context: ({ input }) => ({
    runId: input.runId,
    ...(input.job !== undefined ? { job: input.job } : {}),
    name: input.name,
    sender: input.sender,
    receiver: input.receiver,
    steps: input.steps ?? [],
    batch: input.batch ?? false,
    ...(hasSendOptions(input.send) ? { send: input.send } : {}),
    retry: input.retry,
    stepsDone: 0,
    bytes: 0,
    attempt: 0,
    waitMs: null,
    problem: input.problem ?? null,
  }),
  initial: 'Start',
  on: {
    // zrepl's `signal reset`; a step still running finishes in the background and its result is dropped
    'ferry.reset': { target: '.PermanentError', actions: 'recordReset' },
  },
  states: {
    Start: {
      always: [
        { guard: 'hasProblem', target: 'PermanentError' },
        { guard: 'noStepsLeft', target: 'Completed' },
        { target: 'Working' },
      ],
    },
    Working: {
      invoke: {
        id: 'step',
        src: 'replicateStep',
        input: ({ context }) => ({
          runId: context.runId,
          sender: context.sender,
          receiver: context.receiver,
          filesystem: context.name,
          step: context.steps[context.stepsDone],
          index: context.stepsDone,
          total: context.steps.length,
          ...(context.batch ? { batch: true } : {}),
          ...(context.send ? { send: context.send } : {}),
        }),
        onDone: [
          {
            guard: 'isLastStep',
            target: 'Completed',
            actions: { type: 'recordStep', params: ({ event }) => ({ output: event.output }) },
          },
          {
            // next step: re-entering Working starts a new `step` effect
            target: 'Working',
            reenter: true,
            actions: { type: 'recordStep', params: ({ event }) => ({ output: event.output }) },
          },
        ],
        onError: [
          {
            guard: { type: 'isPermanentFailure', params: ({ event }) => ({ error: event.error }) },
            target: 'PermanentError',
            actions: { type: 'recordPermanentFailure', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: { type: 'isTargetUnhealthy', params: ({ event }) => ({ error: event.error }) },
            target: 'WorkingWait',
            actions: { type: 'recordTargetWait', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: 'attemptsExhausted',
            target: 'PermanentError',
            actions: { type: 'giveUp', params: ({ event }) => ({ error: event.error }) },
          },
          {
            target: 'WorkingWait',
            actions: { type: 'recordTemporaryFailure', params: ({ event }) => ({ error: event.error }) },
          },
        ],
      },
    },
    WorkingWait: {
      after: { retryBackoff: 'Working' },
      // zrepl's `signal wakeup`: retry now instead of at the end of the wait
      on: { 'ferry.wakeup': 'Working' },
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
  output: ({ event }) => event.output as FilesystemOutput,
});
