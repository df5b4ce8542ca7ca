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
import { effect, effectErrorGuards, readEffectError } from './effect.js';
import { attemptsExhausted, backoffMs, unhealthyWaitMs, type RetryPolicy } from './retry.js';
import { shareOfLimit, type JobSendOptions } from './send-options.js';
import type { InitialReplicationPolicy, ReplicationInput, ReplicationOutput, ReplicationSummary } from './replication.js';
import type { PruningInput, PruningOutput, PruningSide, PruningSummary } from './pruning.js';

/**
 * The job machine: one invocation of a scheduled job (fan-out from one sender to many receivers).
 *
 * `Snapshotting` (only when the job asks for a snapshot before each run) runs the `takeSnapshot`
 * effect on the sender; a temporary failure waits in `SnapshottingWait` for the named delay
 * `snapshotBackoff`. A snapshot refused with TARGET_UNHEALTHY (the sender's agent is down, so
 * nothing was tried) waits there as long as the error says, without counting an attempt.
 * `Replicating` spawns one replication machine per receiver (child ids `to-<index>`), all at once: a slow or unreachable receiver never holds up the others. The invocation ends in
 * `Completed` when every replication completed, else in `PermanentError` naming the failed receivers.
 * With a retention policy, `Pruning` follows `Replicating` whatever the replications' outcome (as
 * zrepl: the protection of each pair's newest common version and `not_replicated` keep what a
 * failed replication still needs): one pruning machine per side with rules (child ids
 * `prune-sender`, `prune-to-<index>`), all at once; the invocation then ends in `Completed` only if
 * every replication completed and every pruning is `Done`. An on-demand prune (`replicate: false`,
 * `ferry prune`) goes straight to `Pruning`.
 * `ferry.reset` (zrepl's `signal reset`) ends an active invocation in PermanentError; `ferry.wakeup`
 * cuts a snapshot retry wait short. Pure: no I/O and no clock.
 */
export const jobMachineVersion = '1';

/** What every replication of the invocation shares (the replication input minus run id and ends). */
export interface JobReplicationOptions {
  initial: InitialReplicationPolicy;
  concurrency: number;
  filesystems?: string;
  includeSnapshots?: string;
  excludeSnapshots?: string;
  batch?: boolean;
  /** zfs send/receive flags and the bandwidth limit of every step */
  send?: JobSendOptions;
  retry: RetryPolicy;
}

/** The job's retention policy as the job machine carries it: rules per side (an empty list: that side is not pruned). */
export interface JobPruning {
  sender: unknown[];
  receivers: unknown[];
  /** the job's snapshot prefix (src/retention: other prefixes are left alone) */
  prefix: string;
  /** plan and report only */
  dryRun?: boolean;
}

export interface JobInput {
  /** this invocation's machine id, `<job>.<UTC time>` */
  runId: string;
  job: string;
  sender: string;
  receivers: string[];
  /** the snapshot to take on the sender first (name decided by whoever started the invocation), or none */
  snapshot?: { name: string; filesystems?: string } | null;
  replication: JobReplicationOptions;
  /** the retention policy, or none (no pruning) */
  pruning?: JobPruning | null;
  /** false: an on-demand prune, no snapshot and no replication. @defaultValue true */
  replicate?: boolean;
}

/** Input of the `takeSnapshot` effect. */
export interface TakeSnapshotInput {
  sender: string;
  name: string;
  filesystems?: string;
}

export interface TakeSnapshotOutput {
  name: string;
  filesystems: number;
}

/** The job machine's record of one receiver's replication (child id `to-<index>`). */
export interface ReplicationEntry extends ChildEntry {
  receiver: string;
  /** the replication machine's id, `<runId>.to-<index>` */
  runId: string;
}

/** The job machine's record of one pruning machine (child id `prune-sender` or `prune-to-<index>`). */
export interface PruningEntry extends ChildEntry {
  side: PruningSide;
  endpoint: string;
  /** the pruning machine's id, `<runId>.<childId>` */
  runId: string;
  destroyed: number;
  kept: number;
}

export interface JobContext {
  runId: string;
  job: string;
  sender: string;
  receivers: string[];
  snapshot: { name: string; filesystems?: string } | null;
  /** the snapshot name once taken */
  snapshotTaken: string | null;
  replication: JobReplicationOptions;
  attempt: number;
  /**
   * set while waiting for an unhealthy sender: the wait its error asked for, used by
   * `snapshotBackoff` instead of the backoff; null otherwise (absent in older snapshots: same as null)
   */
  waitMs?: number | null;
  problem: string | null;
  replications: ReplicationEntry[];
  /** absent in snapshots of older versions: same as null / true / [] */
  pruning?: JobPruning | null;
  replicate?: boolean;
  prunings?: PruningEntry[];
}

export type JobState = 'Snapshotting' | 'SnapshottingWait' | 'Replicating' | 'Pruning' | 'Completed' | 'PermanentError';

export interface JobOutput {
  runId: string;
  job: string;
  state: 'Completed' | 'PermanentError';
  problem: string | null;
  bytes: number;
  replications: Array<{ receiver: string; runId: string; state: string; bytes: number; problem: string | null }>;
  prunings: Array<{ side: PruningSide; endpoint: string; runId: string; state: string; destroyed: number; kept: number; problem: string | null }>;
}

/** Pure: the pruning entries of an invocation: the sender, then each receiver, for each side with rules. */
export function pruningEntries(input: Pick<JobInput, 'runId' | 'sender' | 'receivers' | 'pruning'>): PruningEntry[] {
  const p = input.pruning;
  if (!p) return [];
  const sides: Array<{ side: PruningSide; endpoint: string; childId: string }> = [];
  if (p.sender.length) sides.push({ side: 'sender', endpoint: input.sender, childId: 'prune-sender' });
  if (p.receivers.length) input.receivers.forEach((endpoint, i) => sides.push({ side: 'receiver', endpoint, childId: `prune-${replicationChildId(i)}` }));
  return sides.map((s, index) => ({ ...s, index, runId: `${input.runId}.${s.childId}`, state: 'Pending', done: false, bytes: 0, problem: null, destroyed: 0, kept: 0 }));
}

/** Pure: the id of the replication machine for the index-th receiver. */
export function replicationChildId(index: number): string {
  return `to-${index}`;
}

function outputOf(context: JobContext, state: JobOutput['state']): JobOutput {
  return {
    runId: context.runId,
    job: context.job,
    state,
    problem: context.problem,
    bytes: context.replications.reduce((sum, r) => sum + r.bytes, 0),
    replications: context.replications.map((r) => ({ receiver: r.receiver, runId: r.runId, state: r.state, bytes: r.bytes, problem: r.problem })),
    prunings: (context.prunings ?? []).map((p) => ({ side: p.side, endpoint: p.endpoint, runId: p.runId, state: p.state, destroyed: p.destroyed, kept: p.kept, problem: p.problem })),
  };
}

export type JobEvent =
  | { type: 'ferry.reset' }
  | { type: 'ferry.wakeup' }
  | { type: 'ferry.child.state'; childId: string; state: string; summary?: ReplicationSummary }
  | { type: 'xstate.done.actor.snapshot'; output: TakeSnapshotOutput }
  | { type: 'xstate.error.actor.snapshot'; error: unknown }
  | { type: 'xstate.after.snapshotBackoff.job.SnapshottingWait' }
  | { type: `xstate.done.actor.to-${number}`; output: ReplicationOutput }
  | { type: `xstate.error.actor.to-${number}`; error: unknown }
  | { type: `xstate.done.actor.prune-${string}`; output: PruningOutput };

export const jobMachine = setup({
  types: {
    input: {} as JobInput,
    context: {} as JobContext,
    events: {} as JobEvent,
    output: {} as JobOutput,
  },
  actors: {
    takeSnapshot: effect<TakeSnapshotInput, TakeSnapshotOutput>(),
    /** placeholder: the engine runs `replication` children as durable replication machines */
    replication: effect<ReplicationInput, ReplicationOutput>(),
    /** placeholder: the engine runs `pruning` children as durable pruning machines */
    pruning: effect<PruningInput, PruningOutput>(),
  },
  delays: {
    snapshotBackoff: ({ context }) => context.waitMs ?? backoffMs(context.replication.retry, context.attempt),
  },
  guards: {
    ...effectErrorGuards,
    wantsSnapshot: ({ context }) => context.snapshot !== null,
    pruneOnly: ({ context }) => context.replicate === false,
    wantsPruning: ({ context }) => (context.prunings ?? []).length > 0,
    isUnfinishedPruning: ({ context, event }) => isUnfinishedChild(context.prunings ?? [], event),
    allPruningsDone: ({ context }) => allChildrenDone(context.prunings ?? []),
    allSucceeded: ({ context }) => allChildrenCompleted(context.replications) && (context.prunings ?? []).every((p) => p.state === 'Done'),
    snapshotAttemptsExhausted: ({ context }) => attemptsExhausted(context.replication.retry, context.attempt + 1),
    isUnfinishedChild: ({ context, event }) => isUnfinishedChild(context.replications, event),
    allCompleted: ({ context }) => allChildrenCompleted(context.replications),
    allDone: ({ context }) => allChildrenDone(context.replications),
  },
  actions: {
    recordSnapshot: assign((_, params: { output: TakeSnapshotOutput }) => ({ snapshotTaken: params.output?.name ?? null, attempt: 0, waitMs: null, problem: null })),
    recordSnapshotFailure: assign(({ context }, params: { error: unknown; final: boolean }) => ({
      attempt: context.attempt + 1,
      waitMs: null,
      problem: `${params.final ? `snapshot gave up after ${context.attempt + 1} attempts` : 'snapshot failed'}: ${readEffectError(params.error).message}`,
    })),
    /** nothing was tried: wait as long as the error says, and keep the attempt count */
    recordSnapshotTargetWait: assign(({ context }, params: { error: unknown }) => {
      const error = readEffectError(params.error);
      return { waitMs: unhealthyWaitMs(context.replication.retry, context.attempt, error), problem: `snapshot waits: ${error.message}` };
    }),
    spawnReplications: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ replications: context.replications.map((r) => ({ ...r, state: 'Planning' })) });
      for (const r of context.replications) {
        const input: ReplicationInput = {
          runId: r.runId,
          job: context.job,
          sender: context.sender,
          receiver: r.receiver,
          ...context.replication,
          // every receiver is replicated at once: each gets its share of the job's bandwidth limit
          ...(context.replication.send ? { send: shareOfLimit(context.replication.send, context.replications.length) } : {}),
        };
        enqueue.spawnChild('replication', { id: r.childId, input });
      }
    }),
    recordChildState: assign(({ context }, params: { event: Extract<JobEvent, { type: 'ferry.child.state' }> }) => {
      const s = params.event.summary;
      const replications = updateUnfinishedChild(context.replications, params.event, (entry) => ({
        ...entry, state: params.event.state, bytes: s?.bytes ?? entry.bytes, problem: s ? s.problem : entry.problem,
      }));
      return replications ? { replications } : {};
    }),
    recordChildDone: assign(({ context }, params: { type: string; output: ReplicationOutput | undefined }) => {
      const out = params.output;
      const replications = updateUnfinishedChild(context.replications, params, (entry) => ({
        ...entry, done: true, state: out?.state ?? 'PermanentError', bytes: out?.bytes ?? entry.bytes,
        problem: out === undefined ? 'replication finished without output' : out.problem,
      }));
      return replications ? { replications } : {};
    }),
    recordChildError: assign(({ context }, params: { type: string; error: unknown }) => {
      const replications = updateUnfinishedChild(context.replications, params, (entry) => ({ ...entry, ...childMachineFailed('replication', params.error) }));
      return replications ? { replications } : {};
    }),
    releaseChild: stopChild(releasedChildId),
    recordRunFailure: assign(({ context }) => ({ problem: failedChildrenSummary(context.replications, 'receivers', (r) => r.receiver) })),
    spawnPrunings: enqueueActions(({ context, enqueue }) => {
      const prunings = context.prunings ?? [];
      enqueue.assign({ prunings: prunings.map((p) => ({ ...p, state: 'Plan' })) });
      for (const p of prunings) {
        const rules = p.side === 'sender' ? context.pruning!.sender : context.pruning!.receivers;
        const input: PruningInput = {
          runId: p.runId, job: context.job, side: p.side, endpoint: p.endpoint, sender: context.sender, receivers: context.receivers,
          rules, prefix: context.pruning!.prefix, dryRun: !!context.pruning!.dryRun, retry: context.replication.retry,
          ...(context.replication.filesystems ? { filesystems: context.replication.filesystems } : {}),
        };
        enqueue.spawnChild('pruning', { id: p.childId, input });
      }
    }),
    recordPruningState: assign(({ context }, params: { event: Extract<JobEvent, { type: 'ferry.child.state' }> }) => {
      const s = params.event.summary as unknown as PruningSummary | undefined;
      const prunings = updateUnfinishedChild(context.prunings ?? [], params.event, (entry) => ({
        ...entry, state: params.event.state, destroyed: s?.destroyed ?? entry.destroyed, kept: s?.kept ?? entry.kept, problem: s ? s.problem : entry.problem,
      }));
      return prunings ? { prunings } : {};
    }),
    recordPruningDone: assign(({ context }, params: { type: string; output: PruningOutput | undefined }) => {
      const out = params.output;
      const prunings = updateUnfinishedChild(context.prunings ?? [], params, (entry) => ({
        ...entry, done: true, state: out?.state ?? 'PermanentError', destroyed: out?.destroyed ?? entry.destroyed, kept: out?.kept ?? entry.kept,
        problem: out === undefined ? 'pruning finished without output' : out.problem,
      }));
      return prunings ? { prunings } : {};
    }),
    recordPruningError: assign(({ context }, params: { type: string; error: unknown }) => {
      const prunings = updateUnfinishedChild(context.prunings ?? [], params, (entry) => ({ ...entry, ...childMachineFailed('pruning', params.error) }));
      return prunings ? { prunings } : {};
    }),
    recordInvocationFailure: assign(({ context }) => {
      const problems: string[] = [];
      if (!allChildrenCompleted(context.replications)) problems.push(failedChildrenSummary(context.replications, 'receivers', (r) => r.receiver));
      const prunings = context.prunings ?? [];
      if (prunings.some((p) => p.state !== 'Done')) {
        const failed = prunings.filter((p) => p.state !== 'Done');
        problems.push(`${failed.length} of ${prunings.length} prunings failed: ${failed.map((p) => `${p.side} ${p.endpoint}: ${p.problem ?? 'failed'}`).join('; ')}`);
      }
      return { problem: problems.join('; ') };
    }),
    recordReset: assign({ problem: 'reset by operator (ferry signal reset)' }),
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => ({
    runId: input.runId,
    job: input.job,
    sender: input.sender,
    receivers: input.receivers,
    snapshot: input.snapshot ?? null,
    snapshotTaken: null,
    replication: input.replication,
    attempt: 0,
    problem: null,
    replications: input.replicate === false ? [] : input.receivers.map((receiver, index): ReplicationEntry => ({
      index, childId: replicationChildId(index), receiver, runId: `${input.runId}.${replicationChildId(index)}`,
      state: 'Pending', done: false, bytes: 0, problem: null,
    })),
    pruning: input.pruning ?? null,
    replicate: input.replicate !== false,
    prunings: pruningEntries(input),
  }),
  initial: 'Start',
  on: {
    'ferry.reset': { target: '.PermanentError', actions: 'recordReset' },
    // a late result of an effect or child this state no longer waits for
    'xstate.error.actor.*': {},
  },
  states: {
    Start: {
      // an on-demand prune takes no snapshot, whatever the input says
      always: [{ guard: 'pruneOnly', target: 'Pruning' }, { guard: 'wantsSnapshot', target: 'Snapshotting' }, { target: 'Replicating' }],
    },
    Snapshotting: {
      invoke: {
        id: 'snapshot',
        src: 'takeSnapshot',
        input: ({ context }) => ({ sender: context.sender, name: context.snapshot!.name, ...(context.snapshot!.filesystems ? { filesystems: context.snapshot!.filesystems } : {}) }),
        onDone: { target: 'Replicating', actions: { type: 'recordSnapshot', params: ({ event }) => ({ output: event.output }) } },
        onError: [
          {
            guard: { type: 'isPermanentFailure', params: ({ event }) => ({ error: event.error }) },
            target: 'PermanentError',
            actions: { type: 'recordSnapshotFailure', params: ({ event }) => ({ error: event.error, final: true }) },
          },
          {
            guard: { type: 'isTargetUnhealthy', params: ({ event }) => ({ error: event.error }) },
            target: 'SnapshottingWait',
            actions: { type: 'recordSnapshotTargetWait', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: 'snapshotAttemptsExhausted',
            target: 'PermanentError',
            actions: { type: 'recordSnapshotFailure', params: ({ event }) => ({ error: event.error, final: true }) },
          },
          { target: 'SnapshottingWait', actions: { type: 'recordSnapshotFailure', params: ({ event }) => ({ error: event.error, final: false }) } },
        ],
      },
    },
    SnapshottingWait: {
      after: { snapshotBackoff: 'Snapshotting' },
      on: { 'ferry.wakeup': 'Snapshotting' },
    },
    Replicating: {
      entry: 'spawnReplications',
      always: [
        { guard: 'allDone', target: 'Pruning' },
      ],
      on: {
        'ferry.child.state': { actions: { type: 'recordChildState', params: ({ event }) => ({ event }) } },
        'xstate.done.actor.*': {
          guard: 'isUnfinishedChild',
          actions: [
            { type: 'recordChildDone', params: ({ event }) => ({ type: event.type, output: (event as { output?: ReplicationOutput }).output }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
          ],
        },
        'xstate.error.actor.*': {
          guard: 'isUnfinishedChild',
          actions: [
            { type: 'recordChildError', params: ({ event }) => ({ type: event.type, error: (event as { error?: unknown }).error }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
          ],
        },
      },
    },
    Pruning: {
      // with no pruning entries, Pruning decides at once
      entry: 'spawnPrunings',
      always: [
        { guard: 'allPruningsDone', target: 'Outcome' },
      ],
      on: {
        'ferry.child.state': { actions: { type: 'recordPruningState', params: ({ event }) => ({ event }) } },
        'xstate.done.actor.*': {
          guard: 'isUnfinishedPruning',
          actions: [
            { type: 'recordPruningDone', params: ({ event }) => ({ type: event.type, output: (event as { output?: PruningOutput }).output }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
          ],
        },
        'xstate.error.actor.*': {
          guard: 'isUnfinishedPruning',
          actions: [
            { type: 'recordPruningError', params: ({ event }) => ({ type: event.type, error: (event as { error?: unknown }).error }) },
            { type: 'releaseChild', params: ({ event }) => ({ type: event.type }) },
          ],
        },
      },
    },
    /** transient: the invocation's outcome */
    Outcome: {
      always: [
        { guard: 'allSucceeded', target: 'Completed' },
        { target: 'PermanentError', actions: 'recordInvocationFailure' },
      ],
    },
    Completed: { type: 'final', output: ({ context }) => outputOf(context, 'Completed') },
    PermanentError: { type: 'final', output: ({ context }) => outputOf(context, 'PermanentError') },
  },
  output: ({ event }) => event.output as JobOutput,
});
