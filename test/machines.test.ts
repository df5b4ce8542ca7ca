import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import {
  filesystemMachine,
  filesystemMachineVersion,
  jobMachine,
  replicationMachine,
  replicationMachineVersion,
  summarizeFilesystem,
  type FilesystemInput,
  type FilesystemOutput,
  type FilesystemState,
  type FilesystemSummary,
  type JobInput,
  type Plan,
  type ReplicationInput,
  type ReplicationOutput,
  type Step,
  type Version,
} from '../machines/index.js';
import { replicationReport } from '../src/replication/report.js';
import { raises, spawns, stops, type Action } from './helpers/machine-actions.js';

// ---------------------------------------------------------------------------------------------
// helpers: drive machines with the pure functions only, as the engine does


const v = (n: number, name = `s${n}`): Version => ({ name, guid: `g${n}`, createtxg: n });
const retry = { initialMs: 1000, maxMs: 8000, maxAttempts: 4 };

/** What the engine does with a stored snapshot: JSON in, a snapshot for `transition` out. */
function restore<M extends AnyStateMachine>(machine: M, snapshot: AnyMachineSnapshot): ReturnType<M['resolveState']> {
  const persisted = JSON.parse(JSON.stringify(machine.getPersistedSnapshot(snapshot)));
  return createActor(machine as AnyStateMachine, { snapshot: persisted }).getSnapshot() as ReturnType<M['resolveState']>;
}
const effectError = (kind: 'temporary' | 'permanent', message: string) => ({ name: 'Error', message, kind, code: 'X' });
/** what a step or planning refused because an agent is down looks like (src/health) */
const unhealthy = (retryAfterMs?: number) => ({
  name: 'TemporaryError', message: 'target 127.0.0.1:7002 is unhealthy', kind: 'temporary' as const, code: 'TARGET_UNHEALTHY',
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

class Driver<TSnapshot extends AnyMachineSnapshot> {
  actions: Action[] = [];
  constructor(
    readonly machine: any,
    public snapshot: TSnapshot,
    actions: unknown[],
  ) {
    this.actions = actions as Action[];
  }
  send(event: { type: string; [k: string]: unknown }): Action[] {
    const [next, actions] = transition(this.machine, this.snapshot, event as any);
    this.snapshot = next as TSnapshot;
    this.actions = actions as Action[];
    return this.actions;
  }
  get value() {
    return this.snapshot.value;
  }
  get context(): any {
    return this.snapshot.context;
  }
}

function startFilesystem(input: Partial<FilesystemInput> = {}) {
  const full: FilesystemInput = {
    runId: 'run-1',
    name: 'tank/data',
    sender: 'dir:/src',
    receiver: 'dir:/dst',
    steps: [],
    retry,
    ...input,
  };
  const [snapshot, actions] = initialTransition(filesystemMachine, full);
  return new Driver(filesystemMachine, snapshot, actions);
}

function startReplication(input: Partial<ReplicationInput> = {}) {
  const full: ReplicationInput = {
    runId: 'run-1',
    sender: 'dir:/src',
    receiver: 'dir:/dst',
    initial: 'most_recent',
    concurrency: 2,
    retry,
    ...input,
  };
  const [snapshot, actions] = initialTransition(replicationMachine, full);
  return new Driver(replicationMachine, snapshot, actions);
}

const path3: Step[] = [
  { from: null, to: v(1) },
  { from: v(1), to: v(2) },
  { from: v(2), to: v(3) },
];

function planOf(n: number, problems: Record<number, string> = {}): Plan {
  return {
    filesystems: Array.from({ length: n }, (_, i) => ({
      name: `fs${i}`,
      steps: [{ from: null, to: v(i + 1) }],
      ...(problems[i] ? { problem: problems[i] } : {}),
    })),
  };
}

const childState = (childId: string, state: FilesystemState, extra: { sleepUntil?: number; summary?: Partial<FilesystemSummary> } = {}) => ({
  type: 'ferry.child.state',
  childId,
  state,
  summary: { stepsDone: 0, stepsTotal: 1, bytes: 0, problem: null, ...extra.summary },
  ...(extra.sleepUntil === undefined ? {} : { sleepUntil: extra.sleepUntil }),
});

const childDone = (index: number, state: 'Completed' | 'PermanentError', bytes = 0, problem: string | null = null) => ({
  type: `xstate.done.actor.fs-${index}`,
  output: { name: `fs${index}`, state, stepsDone: state === 'Completed' ? 1 : 0, stepsTotal: 1, bytes, problem } satisfies FilesystemOutput,
});

// ---------------------------------------------------------------------------------------------

describe('filesystem machine', () => {
  it('exports a version string', () => {
    assert.equal(typeof filesystemMachineVersion, 'string');
    assert.ok(filesystemMachineVersion.length > 0);
  });

  it('a planning problem goes straight to PermanentError without running anything', () => {
    const fs = startFilesystem({ steps: path3, problem: 'diverged: receiver has @x' });
    assert.equal(fs.value, 'PermanentError');
    assert.equal(fs.snapshot.status, 'done');
    assert.deepEqual(spawns(fs.actions), []);
    assert.deepEqual(fs.snapshot.output, {
      name: 'tank/data',
      state: 'PermanentError',
      stepsDone: 0,
      stepsTotal: 3,
      bytes: 0,
      problem: 'diverged: receiver has @x',
    });
  });

  it('no steps: Completed at once', () => {
    const fs = startFilesystem({ steps: [] });
    assert.equal(fs.value, 'Completed');
    assert.equal(fs.snapshot.status, 'done');
    assert.deepEqual(spawns(fs.actions), []);
    assert.deepEqual(fs.snapshot.output, {
      name: 'tank/data', state: 'Completed', stepsDone: 0, stepsTotal: 0, bytes: 0, problem: null,
    });
  });

  it('runs every step in order with the replicateStep effect, then Completed with the bytes', () => {
    const fs = startFilesystem({ steps: path3 });
    assert.equal(fs.value, 'Working');
    for (let i = 0; i < 3; i++) {
      const [s] = spawns(fs.actions);
      assert.ok(s, `step ${i} is started`);
      assert.equal(s.id, 'step');
      assert.equal(s.src, 'replicateStep');
      assert.deepEqual(s.input, {
        runId: 'run-1', sender: 'dir:/src', receiver: 'dir:/dst', filesystem: 'tank/data',
        step: path3[i], index: i, total: 3,
      });
      fs.send({ type: 'xstate.done.actor.step', output: { bytes: 100 * (i + 1) } });
      if (i < 2) {
        assert.equal(fs.value, 'Working');
        assert.equal(fs.context.stepsDone, i + 1);
      }
    }
    assert.equal(fs.value, 'Completed');
    assert.deepEqual(fs.snapshot.output, {
      name: 'tank/data', state: 'Completed', stepsDone: 3, stepsTotal: 3, bytes: 600, problem: null,
    });
  });

  it('passes batch through to the step input', () => {
    const fs = startFilesystem({ steps: path3, batch: true });
    assert.equal(spawns(fs.actions)[0].input.batch, true);
  });

  it('a temporary failure waits retryBackoff (doubling, capped) and retries the same step', () => {
    const fs = startFilesystem({ steps: path3, retry: { initialMs: 1000, maxMs: 3000, maxAttempts: 10 } });
    const expectedDelays = [1000, 2000, 3000, 3000];
    for (const delay of expectedDelays) {
      fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'connection reset') });
      assert.equal(fs.value, 'WorkingWait');
      assert.equal(fs.context.problem, 'connection reset');
      const [timer] = raises(fs.actions);
      assert.ok(timer, 'a timer is armed');
      assert.equal(timer.delay, delay);
      assert.equal(timer.event.type, 'xstate.after.retryBackoff.filesystem.WorkingWait');
      // summary during the wait carries the problem
      assert.deepEqual(summarizeFilesystem(fs.context), { stepsDone: 0, stepsTotal: 3, bytes: 0, problem: 'connection reset' });
      fs.send(timer.event);
      assert.equal(fs.value, 'Working');
      const [s] = spawns(fs.actions);
      assert.equal(s.input.index, 0, 'same step again');
      assert.equal(s.input.step.from, null);
    }
    assert.equal(fs.context.attempt, 4);
  });

  it('success resets the attempt count and the problem', () => {
    const fs = startFilesystem({ steps: path3 });
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'busy') });
    fs.send(raises(fs.actions)[0].event);
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'busy') });
    assert.equal(raises(fs.actions)[0].delay, 2000);
    fs.send(raises(fs.actions)[0].event);
    fs.send({ type: 'xstate.done.actor.step', output: { bytes: 5 } });
    assert.equal(fs.context.attempt, 0);
    assert.equal(fs.context.problem, null);
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'busy again') });
    assert.equal(raises(fs.actions)[0].delay, 1000, 'backoff starts over for the next step');
  });

  it('gives up after maxAttempts temporary failures in a row', () => {
    const fs = startFilesystem({ steps: path3, retry: { initialMs: 10, maxMs: 100, maxAttempts: 3 } });
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'timeout') });
    fs.send(raises(fs.actions)[0].event);
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'timeout') });
    fs.send(raises(fs.actions)[0].event);
    assert.equal(fs.value, 'Working');
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'timeout') });
    assert.equal(fs.value, 'PermanentError');
    assert.deepEqual(raises(fs.actions), [], 'no timer after giving up');
    assert.deepEqual(fs.snapshot.output, {
      name: 'tank/data', state: 'PermanentError', stepsDone: 0, stepsTotal: 3, bytes: 0,
      problem: 'gave up after 3 attempts: timeout',
    });
  });

  it('maxAttempts 0 retries without limit', () => {
    const fs = startFilesystem({ steps: path3, retry: { initialMs: 10, maxMs: 100, maxAttempts: 0 } });
    for (let i = 0; i < 50; i++) {
      fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'timeout') });
      assert.equal(fs.value, 'WorkingWait');
      fs.send(raises(fs.actions)[0].event);
    }
    assert.equal(fs.value, 'Working');
  });

  it('a permanent failure stops at once with the message', () => {
    const fs = startFilesystem({ steps: path3 });
    fs.send({ type: 'xstate.done.actor.step', output: { bytes: 42 } });
    fs.send({ type: 'xstate.error.actor.step', error: effectError('permanent', 'permission denied on dst') });
    assert.equal(fs.value, 'PermanentError');
    assert.deepEqual(fs.snapshot.output, {
      name: 'tank/data', state: 'PermanentError', stepsDone: 1, stepsTotal: 3, bytes: 42,
      problem: 'permission denied on dst',
    });
  });

  it('an error without a kind counts as temporary', () => {
    const fs = startFilesystem({ steps: path3 });
    fs.send({ type: 'xstate.error.actor.step', error: { message: 'weird' } });
    assert.equal(fs.value, 'WorkingWait');
  });

  it('a stale timer event while Working is ignored', () => {
    const fs = startFilesystem({ steps: path3 });
    const before = fs.snapshot;
    fs.send({ type: 'xstate.after.retryBackoff.filesystem.WorkingWait' });
    assert.equal(fs.value, 'Working');
    assert.deepEqual(fs.actions, []);
    assert.deepEqual(fs.context, before.context);
  });

  it('TARGET_UNHEALTHY waits retryBackoff for the time the error carries and does not count an attempt', () => {
    const fs = startFilesystem({ steps: path3, retry: { initialMs: 1000, maxMs: 8000, maxAttempts: 2 } });
    // far more refusals than maxAttempts allows failures: still waiting, never given up
    for (const wait of [1000, 2000, 4000, 30000, 30000, 30000]) {
      fs.send({ type: 'xstate.error.actor.step', error: unhealthy(wait) });
      assert.equal(fs.value, 'WorkingWait');
      assert.equal(fs.context.attempt, 0);
      assert.equal(fs.context.problem, 'target 127.0.0.1:7002 is unhealthy');
      const [timer] = raises(fs.actions);
      assert.equal(timer.event.type, 'xstate.after.retryBackoff.filesystem.WorkingWait', 'the same named delay');
      assert.equal(timer.delay, wait, 'the wait of the error, not the retry policy (capped at 8000)');
      fs.send(timer.event);
      assert.equal(fs.value, 'Working');
      assert.equal(spawns(fs.actions)[0].input.index, 0, 'the same step again');
    }
    // back: the step runs and succeeds; the next step starts afresh
    fs.send({ type: 'xstate.done.actor.step', output: { bytes: 7 } });
    assert.equal(fs.context.stepsDone, 1);
    assert.equal(fs.context.problem, null);
    assert.equal(fs.context.waitMs, null);
  });

  it('TARGET_UNHEALTHY keeps the attempts counted so far; a real failure afterwards uses the backoff again', () => {
    const fs = startFilesystem({ steps: path3, retry: { initialMs: 1000, maxMs: 8000, maxAttempts: 3 } });
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'connection refused') });
    assert.equal(fs.context.attempt, 1);
    fs.send(raises(fs.actions)[0].event);
    fs.send({ type: 'xstate.error.actor.step', error: unhealthy(250) });
    assert.equal(fs.context.attempt, 1);
    assert.equal(raises(fs.actions)[0].delay, 250);
    fs.send(raises(fs.actions)[0].event);
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'reset') });
    assert.equal(fs.context.attempt, 2);
    assert.equal(raises(fs.actions)[0].delay, 2000, 'the backoff of the second counted failure');
    fs.send(raises(fs.actions)[0].event);
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'reset') });
    assert.equal(fs.value, 'PermanentError', 'real failures still give up at maxAttempts');
    assert.equal((fs.snapshot.output as FilesystemOutput).problem, 'gave up after 3 attempts: reset');
  });

  it('TARGET_UNHEALTHY without a wait falls back to the backoff; a permanent error with that code still stops', () => {
    const fs = startFilesystem({ steps: path3 });
    fs.send({ type: 'xstate.error.actor.step', error: unhealthy() });
    assert.equal(raises(fs.actions)[0].delay, 1000);
    assert.equal(fs.context.attempt, 0);
    fs.send(raises(fs.actions)[0].event);
    fs.send({ type: 'xstate.error.actor.step', error: { ...unhealthy(100), kind: 'permanent' } });
    assert.equal(fs.value, 'PermanentError');
  });

  it('a snapshot of the previous shape (no waitMs) restores and retries with the backoff', () => {
    const fs = startFilesystem({ steps: path3 });
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'EAGAIN') });
    const persisted = JSON.parse(JSON.stringify(filesystemMachine.getPersistedSnapshot(fs.snapshot)));
    delete persisted.context.waitMs;
    const restored = createActor(filesystemMachine as AnyStateMachine, { snapshot: persisted }).getSnapshot() as ReturnType<typeof filesystemMachine['resolveState']>;
    const [next, actions] = transition(filesystemMachine, restored, { type: 'xstate.after.retryBackoff.filesystem.WorkingWait' });
    assert.equal(next.value, 'Working');
    const [, again] = transition(filesystemMachine, next, { type: 'xstate.error.actor.step', error: effectError('temporary', 'EAGAIN') });
    assert.equal(raises(again as Action[])[0].delay, 2000);
    assert.equal(spawns(actions as Action[]).length, 1);
  });

  it('survives a JSON round trip of its persisted snapshot mid-wait', () => {
    const fs = startFilesystem({ steps: path3 });
    fs.send({ type: 'xstate.done.actor.step', output: { bytes: 1 } });
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'EAGAIN') });
    const timer = raises(fs.actions)[0];
    const restored = restore(filesystemMachine, fs.snapshot);
    const [next, actions] = transition(filesystemMachine, restored, timer.event as any);
    assert.equal(next.value, 'Working');
    assert.equal(spawns(actions as Action[])[0].input.index, 1);
  });
});

// ---------------------------------------------------------------------------------------------

describe('replication machine', () => {
  it('exports a version string', () => {
    assert.equal(typeof replicationMachineVersion, 'string');
    assert.ok(replicationMachineVersion.length > 0);
  });

  it('Planning invokes plan with the run input', () => {
    const r = startReplication({ filesystems: 'tank/*', initial: 'all' });
    assert.equal(r.value, 'Planning');
    const [plan] = spawns(r.actions);
    assert.equal(plan.id, 'plan');
    assert.equal(plan.src, 'plan');
    assert.deepEqual(plan.input, { runId: 'run-1', sender: 'dir:/src', receiver: 'dir:/dst', initial: 'all', filesystems: 'tank/*' });
  });

  it('without a glob the plan input has no filesystems field', () => {
    const r = startReplication();
    assert.equal('filesystems' in spawns(r.actions)[0].input, false);
  });

  it('zero filesystems: Completed', () => {
    const r = startReplication();
    r.send({ type: 'xstate.done.actor.plan', output: { filesystems: [] } });
    assert.equal(r.value, 'Completed');
    assert.deepEqual(r.snapshot.output, {
      runId: 'run-1', sender: 'dir:/src', receiver: 'dir:/dst', state: 'Completed', problem: null, bytes: 0, filesystems: [],
    } satisfies ReplicationOutput);
  });

  it('spawns filesystem machines up to the concurrency limit, then one per finished child', () => {
    const r = startReplication({ concurrency: 2, batch: true });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(5, { 3: 'no common version: ...' }) });
    assert.equal(r.value, 'Working');
    const first = spawns(r.actions);
    assert.deepEqual(first.map((s) => s.id), ['fs-0', 'fs-1']);
    assert.ok(first.every((s) => s.src === 'filesystem'));
    assert.deepEqual(first[0].input, {
      runId: 'run-1', name: 'fs0', sender: 'dir:/src', receiver: 'dir:/dst',
      steps: [{ from: null, to: v(1) }], retry, batch: true,
    } satisfies FilesystemInput);
    assert.deepEqual(Object.keys(r.snapshot.children).sort(), ['fs-0', 'fs-1']);
    assert.deepEqual(r.context.filesystems.map((e: any) => e.state), ['Working', 'Working', 'Pending', 'Pending', 'Pending']);

    // progress report from a child does not start anything
    r.send(childState('fs-0', 'Working', { summary: { bytes: 10 } }));
    assert.deepEqual(spawns(r.actions), []);
    assert.equal(r.context.filesystems[0].bytes, 10);

    r.send(childDone(1, 'Completed', 50));
    assert.deepEqual(stops(r.actions), ['fs-1'], 'the finished child is released');
    assert.deepEqual(spawns(r.actions).map((s) => s.id), ['fs-2']);

    r.send(childDone(0, 'Completed', 70));
    const next = spawns(r.actions);
    assert.deepEqual(next.map((s) => s.id), ['fs-3']);
    assert.equal(next[0].input.problem, 'no common version: ...', 'planning conflicts reach the child');
    assert.deepEqual(Object.keys(r.snapshot.children).sort(), ['fs-2', 'fs-3']);
  });

  it('never has more than `concurrency` children working', () => {
    for (const concurrency of [1, 3, 7]) {
      const n = 12;
      const r = startReplication({ concurrency });
      r.send({ type: 'xstate.done.actor.plan', output: planOf(n) });
      const running = new Set<string>(spawns(r.actions).map((s) => s.id));
      assert.equal(running.size, Math.min(concurrency, n));
      const spawned = new Set(running);
      while (running.size > 0) {
        const [id] = [...running].sort(); // finish the oldest
        running.delete(id);
        r.send(childDone(Number(id.slice(3)), 'Completed', 1));
        for (const s of spawns(r.actions)) {
          assert.equal(spawned.has(s.id), false, `${s.id} spawned twice`);
          spawned.add(s.id);
          running.add(s.id);
        }
        assert.ok(running.size <= concurrency, `at most ${concurrency} running, got ${running.size}`);
      }
      assert.equal(spawned.size, n);
      assert.equal(r.value, 'Completed');
      assert.equal((r.snapshot.output as ReplicationOutput).bytes, n);
    }
  });

  it('a child waiting for its retry frees its slot; WorkingWait when every unfinished child waits', () => {
    const r = startReplication({ concurrency: 1 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(3) });
    assert.deepEqual(spawns(r.actions).map((s) => s.id), ['fs-0']);

    r.send(childState('fs-0', 'WorkingWait', { sleepUntil: 5_000, summary: { problem: 'timeout' } }));
    assert.equal(r.value, 'Working', 'others are pending: keep working');
    assert.deepEqual(spawns(r.actions).map((s) => s.id), ['fs-1'], 'the waiting child does not hold the slot');
    assert.equal(r.context.filesystems[0].sleepUntil, 5_000);
    assert.equal(r.context.filesystems[0].problem, 'timeout');

    r.send(childState('fs-1', 'WorkingWait', { sleepUntil: 3_000 }));
    assert.deepEqual(spawns(r.actions).map((s) => s.id), ['fs-2']);
    assert.equal(r.value, 'Working');

    r.send(childState('fs-2', 'WorkingWait', { sleepUntil: 9_000 }));
    assert.equal(r.value, 'WorkingWait', 'nothing pending and everyone waits');
    assert.deepEqual(spawns(r.actions), []);

    const report = replicationReport('run-1', r.snapshot);
    assert.equal(report.state, 'WorkingWait');
    assert.equal(report.sleepUntil, new Date(3_000).toISOString(), 'the earliest retry');
    assert.equal(report.filesystems[0].sleepUntil, new Date(5_000).toISOString());

    // a child that reports back leaves WorkingWait
    r.send(childState('fs-1', 'Working'));
    assert.equal(r.value, 'Working');
    assert.deepEqual(spawns(r.actions), [], 'nothing left to spawn');
    assert.equal(r.context.filesystems[1].sleepUntil, null);

    // and a finished child while waiting goes back to Working, then back to WorkingWait if all others wait
    r.send(childState('fs-1', 'WorkingWait', { sleepUntil: 4_000 }));
    assert.equal(r.value, 'WorkingWait');
    r.send(childDone(1, 'PermanentError', 0, 'gave up after 4 attempts: timeout'));
    assert.equal(r.value, 'WorkingWait', 'fs-0 and fs-2 still wait');
    assert.equal(r.context.filesystems[1].done, true);

    r.send(childState('fs-0', 'Working'));
    assert.equal(r.value, 'Working');
    r.send(childDone(0, 'Completed', 11));
    assert.equal(r.value, 'WorkingWait', 'only fs-2 is left and it waits');
    r.send(childState('fs-2', 'Working'));
    r.send(childDone(2, 'Completed', 22));
    assert.equal(r.value, 'PermanentError');
    assert.equal(r.context.problem, '1 of 3 filesystems failed: fs1: gave up after 4 attempts: timeout');
  });

  it('WorkingWait is left when a child finishes', () => {
    const r = startReplication({ concurrency: 2 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(2) });
    r.send(childState('fs-0', 'WorkingWait', { sleepUntil: 1 }));
    r.send(childState('fs-1', 'WorkingWait', { sleepUntil: 2 }));
    assert.equal(r.value, 'WorkingWait');
    r.send(childDone(0, 'PermanentError', 0, 'boom'));
    assert.equal(r.value, 'WorkingWait');
    r.send({ type: 'xstate.error.actor.fs-1', error: effectError('permanent', 'machine crashed') });
    assert.equal(r.value, 'PermanentError');
    assert.equal(r.context.problem, '2 of 2 filesystems failed: fs0: boom; fs1: filesystem machine failed: machine crashed');
  });

  it('one failing filesystem does not stop the others; the run fails naming the failed ones', () => {
    const r = startReplication({ concurrency: 5 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(5) });
    assert.equal(spawns(r.actions).length, 5);
    r.send(childDone(1, 'PermanentError', 0, 'diverged: receiver has @x'));
    assert.equal(r.value, 'Working');
    r.send(childDone(0, 'Completed', 1));
    r.send(childDone(2, 'Completed', 2));
    r.send(childDone(3, 'PermanentError', 0, 'permission denied'));
    assert.equal(r.value, 'Working');
    r.send(childDone(4, 'Completed', 4));
    assert.equal(r.value, 'PermanentError');
    assert.equal(r.snapshot.status, 'done');
    const out = r.snapshot.output as ReplicationOutput;
    assert.equal(out.state, 'PermanentError');
    assert.equal(out.problem, '2 of 5 filesystems failed: fs1: diverged: receiver has @x; fs3: permission denied');
    assert.equal(out.bytes, 7);
    assert.deepEqual(out.filesystems.map((f) => [f.name, f.state]), [
      ['fs0', 'Completed'], ['fs1', 'PermanentError'], ['fs2', 'Completed'], ['fs3', 'PermanentError'], ['fs4', 'Completed'],
    ]);
  });

  it('all filesystems completed: Completed with every output', () => {
    const r = startReplication({ concurrency: 3 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(3) });
    r.send(childDone(2, 'Completed', 300));
    r.send(childDone(0, 'Completed', 100));
    assert.equal(r.value, 'Working');
    r.send(childDone(1, 'Completed', 200));
    assert.equal(r.value, 'Completed');
    const out = r.snapshot.output as ReplicationOutput;
    assert.equal(out.state, 'Completed');
    assert.equal(out.problem, null);
    assert.equal(out.bytes, 600);
    assert.deepEqual(out.filesystems.map((f) => f.name), ['fs0', 'fs1', 'fs2'], 'plan order');
  });

  it('ignores late, duplicate and unknown child events', () => {
    const r = startReplication({ concurrency: 2 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(2) });
    r.send(childDone(0, 'Completed', 5));
    const ctx = r.context;
    r.send(childDone(0, 'PermanentError', 0, 'dup')); // duplicate delivery
    r.send(childState('fs-0', 'WorkingWait', { sleepUntil: 1 })); // state report after the output
    r.send(childState('fs-9', 'WorkingWait', { sleepUntil: 1 })); // not ours
    r.send(childDone(9, 'Completed', 1)); // not ours
    r.send({ type: 'xstate.error.actor.plan', error: effectError('temporary', 'late') }); // stale planning error
    r.send({ type: 'xstate.done.actor.plan', output: planOf(7) }); // stale planning result
    assert.equal(r.snapshot.status, 'active');
    assert.equal(r.value, 'Working');
    assert.deepEqual(r.context, ctx);
  });

  it('PlanningError: a temporary planning failure retries after planningBackoff', () => {
    const r = startReplication({ retry: { initialMs: 500, maxMs: 800, maxAttempts: 3 } });
    r.send({ type: 'xstate.error.actor.plan', error: effectError('temporary', 'connection refused') });
    assert.equal(r.value, 'PlanningError');
    assert.equal(r.context.attempt, 1);
    assert.match(r.context.problem, /connection refused/);
    let [timer] = raises(r.actions);
    assert.equal(timer.delay, 500);
    assert.equal(timer.event.type, 'xstate.after.planningBackoff.replication.PlanningError');
    assert.equal(replicationReport('run-1', r.snapshot).state, 'PlanningError');

    r.send(timer.event);
    assert.equal(r.value, 'Planning');
    assert.deepEqual(spawns(r.actions).map((s) => s.id), ['plan'], 'plans again');

    r.send({ type: 'xstate.error.actor.plan', error: effectError('temporary', 'connection refused') });
    [timer] = raises(r.actions);
    assert.equal(timer.delay, 800, 'doubled, capped at maxMs');
    r.send(timer.event);

    // success resets the attempts and the problem
    r.send({ type: 'xstate.done.actor.plan', output: planOf(1) });
    assert.equal(r.value, 'Working');
    assert.equal(r.context.attempt, 0);
    assert.equal(r.context.problem, null);
  });

  it('planning gives up after maxAttempts', () => {
    const r = startReplication({ retry: { initialMs: 500, maxMs: 800, maxAttempts: 2 } });
    r.send({ type: 'xstate.error.actor.plan', error: effectError('temporary', 'ETIMEDOUT') });
    r.send(raises(r.actions)[0].event);
    r.send({ type: 'xstate.error.actor.plan', error: effectError('temporary', 'ETIMEDOUT') });
    assert.equal(r.value, 'PermanentError');
    const out = r.snapshot.output as ReplicationOutput;
    assert.equal(out.state, 'PermanentError');
    assert.equal(out.problem, 'planning gave up after 2 attempts: ETIMEDOUT');
    assert.deepEqual(out.filesystems, []);
  });

  it('planning refused with TARGET_UNHEALTHY waits planningBackoff for the time the error carries, uncounted', () => {
    const r = startReplication({ retry: { initialMs: 500, maxMs: 800, maxAttempts: 2 } });
    for (const wait of [1000, 2000, 30000, 30000]) {
      r.send({ type: 'xstate.error.actor.plan', error: unhealthy(wait) });
      assert.equal(r.value, 'PlanningError');
      assert.equal(r.context.attempt, 0);
      assert.equal(r.context.problem, 'planning waits: target 127.0.0.1:7002 is unhealthy');
      const [timer] = raises(r.actions);
      assert.equal(timer.event.type, 'xstate.after.planningBackoff.replication.PlanningError');
      assert.equal(timer.delay, wait);
      r.send(timer.event);
      assert.equal(r.value, 'Planning');
    }
    r.send({ type: 'xstate.error.actor.plan', error: effectError('temporary', 'ETIMEDOUT') });
    assert.equal(r.context.attempt, 1);
    assert.equal(raises(r.actions)[0].delay, 500, 'a counted failure uses the backoff');
    r.send(raises(r.actions)[0].event);
    r.send({ type: 'xstate.done.actor.plan', output: planOf(1) });
    assert.equal(r.value, 'Working');
    assert.equal(r.context.waitMs, null);
    assert.equal(r.context.problem, null);
  });

  it('a permanent planning failure stops the run at once', () => {
    const r = startReplication();
    r.send({ type: 'xstate.error.actor.plan', error: effectError('permanent', 'sender and receiver must use the same storage kind') });
    assert.equal(r.value, 'PermanentError');
    assert.deepEqual(raises(r.actions), []);
    assert.equal((r.snapshot.output as ReplicationOutput).problem, 'planning failed: sender and receiver must use the same storage kind');
  });

  it('ignores reports and results for filesystems it has not spawned yet', () => {
    const r = startReplication({ concurrency: 1 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(2) });
    const ctx = r.context;
    r.send(childState('fs-1', 'Working'));
    r.send(childDone(1, 'Completed', 9));
    assert.deepEqual(r.context, ctx);
    assert.equal(r.context.filesystems[1].state, 'Pending');
    r.send(childDone(0, 'Completed', 1));
    assert.deepEqual(spawns(r.actions).map((s) => s.id), ['fs-1'], 'fs-1 is still spawned in its turn');
  });

  it('concurrency below 1 is treated as 1', () => {
    const r = startReplication({ concurrency: 0 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(3) });
    assert.deepEqual(spawns(r.actions).map((s) => s.id), ['fs-0']);
  });

  it('survives a JSON round trip of its persisted snapshot mid-run', () => {
    const r = startReplication({ concurrency: 1 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(2) });
    const restored = restore(replicationMachine, r.snapshot);
    const [next, actions] = transition(replicationMachine, restored, childDone(0, 'Completed', 3) as any);
    assert.equal(next.value, 'Working');
    assert.deepEqual(spawns(actions as Action[]).map((s) => s.id), ['fs-1']);
    assert.deepEqual(stops(actions as Action[]), ['fs-0']);
  });

  it('the child summary works end to end: filesystem machine context -> parent entry -> report', () => {
    const fs = startFilesystem({ name: 'fs0', steps: path3 });
    fs.send({ type: 'xstate.done.actor.step', output: { bytes: 64 } });
    fs.send({ type: 'xstate.error.actor.step', error: effectError('temporary', 'EPIPE') });
    const r = startReplication({ concurrency: 1 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(2) });
    r.send({ type: 'ferry.child.state', childId: 'fs-0', state: fs.value, summary: summarizeFilesystem(fs.context), sleepUntil: Date.UTC(2030, 0, 1) });
    const report = replicationReport('run-1', r.snapshot, { 'fs-1': { bytes: 1000 } });
    assert.deepEqual(report, {
      id: 'run-1',
      state: 'Working',
      problem: null,
      sleepUntil: null,
      filesystems: [
        { name: 'fs0', state: 'WorkingWait', stepsDone: 1, stepsTotal: 3, bytes: 64, problem: 'EPIPE', sleepUntil: '2030-01-01T00:00:00.000Z' },
        { name: 'fs1', state: 'Working', stepsDone: 0, stepsTotal: 1, bytes: 1000, problem: null, sleepUntil: null },
      ],
    });
  });
});

describe('replicationReport', () => {
  it('reports Planning with no filesystems, and pending ones as Pending', () => {
    const r = startReplication({ concurrency: 1 });
    assert.deepEqual(replicationReport('x', r.snapshot), { id: 'x', state: 'Planning', problem: null, sleepUntil: null, filesystems: [] });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(2) });
    const report = replicationReport('x', r.snapshot, { 'fs-0': { bytes: 7 }, 'fs-1': { bytes: 99 } });
    assert.deepEqual(report.filesystems.map((f) => [f.state, f.bytes]), [['Working', 7], ['Pending', 0]]);
  });

  it('adds no live bytes to finished filesystems and keeps the run problem', () => {
    const r = startReplication({ concurrency: 2 });
    r.send({ type: 'xstate.done.actor.plan', output: planOf(2) });
    r.send(childDone(0, 'Completed', 10));
    r.send(childDone(1, 'PermanentError', 0, 'bad'));
    const report = replicationReport('x', r.snapshot, { 'fs-0': { bytes: 5 } });
    assert.equal(report.state, 'PermanentError');
    assert.equal(report.problem, '1 of 2 filesystems failed: fs1: bad');
    assert.deepEqual(report.filesystems.map((f) => f.bytes), [10, 0]);
  });
});

describe('job machine: the snapshot before the replications', () => {
  function startJob(maxAttempts = 2) {
    const input: JobInput = {
      runId: 'nightly.20261121T000000Z', job: 'nightly', sender: 'grpc://127.0.0.1:7002/dir:/src', receivers: ['dir:/a', 'dir:/b'],
      snapshot: { name: 'ferry_20261121T000000Z' },
      replication: { initial: 'most_recent', concurrency: 2, retry: { initialMs: 1000, maxMs: 8000, maxAttempts } },
    };
    const [snapshot, actions] = initialTransition(jobMachine, input);
    return new Driver(jobMachine, snapshot, actions);
  }

  it('TARGET_UNHEALTHY (the sender agent is down) waits as long as the error says and counts no attempt', () => {
    const job = startJob(2);
    assert.equal(job.value, 'Snapshotting');
    assert.equal(spawns(job.actions)[0].input.name, 'ferry_20261121T000000Z');
    for (const wait of [500, 4000, 30000, 30000]) {
      job.send({ type: 'xstate.error.actor.snapshot', error: unhealthy(wait) });
      assert.equal(job.value, 'SnapshottingWait', 'more refusals than maxAttempts allows failures: still waiting');
      assert.equal(job.context.attempt, 0);
      assert.match(job.context.problem, /^snapshot waits: target 127\.0\.0\.1:7002 is unhealthy/);
      const [timer] = raises(job.actions);
      assert.equal(timer.event.type, 'xstate.after.snapshotBackoff.job.SnapshottingWait', 'the same named delay');
      assert.equal(timer.delay, wait);
      job.send(timer.event);
      assert.equal(job.value, 'Snapshotting');
    }
    job.send({ type: 'xstate.done.actor.snapshot', output: { name: 'ferry_20261121T000000Z', filesystems: 3 } });
    assert.equal(job.value, 'Replicating');
    assert.equal(job.context.waitMs, null);
    assert.equal(job.context.problem, null);
    assert.equal(spawns(job.actions).length, 2, 'one replication per receiver');
  });

  it('real failures still count and give up; after a refusal the backoff is the policy\'s again', () => {
    const job = startJob(2);
    job.send({ type: 'xstate.error.actor.snapshot', error: unhealthy(250) });
    job.send(raises(job.actions)[0].event);
    job.send({ type: 'xstate.error.actor.snapshot', error: effectError('temporary', 'zfs: dataset is busy') });
    assert.equal(job.context.attempt, 1);
    assert.equal(job.context.waitMs, null);
    assert.equal(raises(job.actions)[0].delay, 1000, 'the backoff of the first counted failure');
    job.send(raises(job.actions)[0].event);
    job.send({ type: 'xstate.error.actor.snapshot', error: effectError('temporary', 'zfs: dataset is busy') });
    assert.equal(job.value, 'PermanentError');
    assert.equal(job.context.problem, 'snapshot gave up after 2 attempts: zfs: dataset is busy');
  });

  it('a snapshot of the previous shape (no waitMs) restores and waits with the backoff', () => {
    const job = startJob(3);
    job.send({ type: 'xstate.error.actor.snapshot', error: effectError('temporary', 'EAGAIN') });
    const persisted = JSON.parse(JSON.stringify(jobMachine.getPersistedSnapshot(job.snapshot)));
    delete persisted.context.waitMs;
    const restored = createActor(jobMachine as AnyStateMachine, { snapshot: persisted }).getSnapshot() as ReturnType<typeof jobMachine['resolveState']>;
    const [next] = transition(jobMachine, restored, { type: 'xstate.after.snapshotBackoff.job.SnapshottingWait' });
    assert.equal(next.value, 'Snapshotting');
    const [, again] = transition(jobMachine, next, { type: 'xstate.error.actor.snapshot', error: effectError('temporary', 'EAGAIN') });
    assert.equal(raises(again as Action[])[0].delay, 2000);
  });
});
