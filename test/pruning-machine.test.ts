import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { jobMachine, type JobInput } from '../machines/job.js';
import { pruningMachine, type PrunePlan, type PruningInput } from '../machines/pruning.js';
import { raises, spawns, type Action } from './helpers/machine-actions.js';

// the pure functions only, as the engine steps machines
function run(machine: AnyStateMachine, input: unknown) {
  let [snapshot, actions] = initialTransition(machine, input) as [AnyMachineSnapshot, Action[]];
  return {
    get value() { return snapshot.value; },
    get context(): any { return snapshot.context; },
    get actions() { return actions; },
    get output(): any { return snapshot.output; },
    send(event: { type: string; [k: string]: unknown }) {
      [snapshot, actions] = transition(machine, snapshot, event as never) as [AnyMachineSnapshot, Action[]];
    },
  };
}

const retry = { initialMs: 1000, maxMs: 8000, maxAttempts: 3 };
const temporary = (message: string) => ({ name: 'TemporaryError', message, kind: 'temporary', code: 'X' });
const plan: PrunePlan = {
  destroy: [{ filesystem: 'a', name: 'auto_1', reason: 'no rule keeps it' }, { filesystem: 'a', name: 'auto_2', reason: 'no rule keeps it' }],
  keep: [{ filesystem: 'a', name: 'auto_3', reasons: ['last 1'] }],
};
const input: PruningInput = {
  runId: 'j.1.prune-sender', job: 'j', side: 'sender', endpoint: 'dir:/s', sender: 'dir:/s', receivers: ['dir:/r'],
  rules: [{ type: 'last_n', count: 1 }], prefix: 'auto', retry,
};

describe('pruning machine', () => {
  it('plans, then destroys the planned snapshots one effect at a time, and reports destroyed and kept', () => {
    const m = run(pruningMachine, input);
    assert.equal(m.value, 'Plan');
    assert.deepEqual(spawns(m.actions).map((s) => s.src), ['planPrune']);
    m.send({ type: 'xstate.done.actor.plan', output: plan });
    assert.equal(m.value, 'Exec');
    assert.deepEqual(spawns(m.actions).map((s) => [s.src, s.input.name, s.input.index]), [['destroySnapshot', 'auto_1', 0]]);
    m.send({ type: 'xstate.done.actor.destroy', output: { outcome: 'destroyed' } });
    assert.deepEqual(spawns(m.actions).map((s) => s.input.name), ['auto_2']);
    m.send({ type: 'xstate.done.actor.destroy', output: { outcome: 'gone' } });
    assert.equal(m.value, 'Done');
    assert.deepEqual(m.output.destroyedSnapshots.map((d: { name: string }) => d.name), ['auto_1', 'auto_2']);
    assert.deepEqual(m.output.keptSnapshots.map((k: { name: string }) => k.name), ['auto_3']);
  });

  it('a dry run ends after the plan and destroys nothing', () => {
    const m = run(pruningMachine, { ...input, dryRun: true });
    m.send({ type: 'xstate.done.actor.plan', output: plan });
    assert.equal(m.value, 'Done');
    assert.deepEqual(spawns(m.actions), []);
    assert.equal(m.output.destroyed, 2, 'what it would destroy');
    assert.equal(m.output.dryRun, true);
  });

  it('PlanErr waits with the backoff and plans again; attempts used up: PermanentError', () => {
    const m = run(pruningMachine, input);
    m.send({ type: 'xstate.error.actor.plan', error: temporary('receiver unreachable') });
    assert.equal(m.value, 'PlanErr');
    const [timer] = raises(m.actions);
    assert.equal(timer.delay, 1000);
    m.send(timer.event);
    assert.equal(m.value, 'Plan');
    m.send({ type: 'xstate.error.actor.plan', error: temporary('receiver unreachable') });
    assert.equal(raises(m.actions)[0].delay, 2000);
    m.send(raises(m.actions)[0].event);
    m.send({ type: 'xstate.error.actor.plan', error: temporary('receiver unreachable') });
    assert.equal(m.value, 'PermanentError');
    assert.match(m.context.problem, /planning gave up after 3 attempts: receiver unreachable/);
  });

  it('ExecErr retries the same snapshot; a driver refusal keeps it and goes on', () => {
    const m = run(pruningMachine, input);
    m.send({ type: 'xstate.done.actor.plan', output: plan });
    m.send({ type: 'xstate.error.actor.destroy', error: temporary('lock busy') });
    assert.equal(m.value, 'ExecErr');
    m.send(raises(m.actions)[0].event);
    assert.deepEqual(spawns(m.actions).map((s) => s.input.name), ['auto_1'], 'the same snapshot again');
    m.send({ type: 'xstate.done.actor.destroy', output: { outcome: 'refused', message: 'it has 1 user hold' } });
    m.send({ type: 'xstate.done.actor.destroy', output: { outcome: 'destroyed' } });
    assert.equal(m.value, 'Done');
    assert.deepEqual(m.output.destroyedSnapshots.map((d: { name: string }) => d.name), ['auto_2']);
    assert.deepEqual(m.output.keptSnapshots.map((k: { name: string; reasons: string[] }) => [k.name, k.reasons[0]]), [
      ['auto_3', 'last 1'], ['auto_1', 'the driver refused to destroy it: it has 1 user hold'],
    ]);
  });
});

describe('job machine with a retention policy', () => {
  const jobInput: JobInput = {
    runId: 'j.1', job: 'j', sender: 'dir:/s', receivers: ['dir:/r1', 'dir:/r2'], snapshot: null,
    replication: { initial: 'most_recent', concurrency: 1, retry },
    pruning: { sender: [{ type: 'last_n', count: 2 }], receivers: [{ type: 'last_n', count: 5 }], prefix: 'auto' },
  };
  const replicated = (i: number, state = 'Completed') => ({
    type: `xstate.done.actor.to-${i}`, output: { runId: `j.1.to-${i}`, state, problem: state === 'Completed' ? null : 'boom', bytes: 1, filesystems: [] },
  });
  const pruned = (childId: string, state = 'Done') => ({
    type: `xstate.done.actor.${childId}`,
    output: { runId: `j.1.${childId}`, state, side: 'sender', endpoint: '', dryRun: false, destroyed: 1, kept: 2, problem: state === 'Done' ? null : 'bad', destroyedSnapshots: [], keptSnapshots: [] },
  });

  it('prunes every side after the replications, even failed ones, and fails when a side fails', () => {
    const job = run(jobMachine, jobInput);
    job.send({ type: 'ferry.child.state', childId: 'to-0', state: 'Planning' });
    job.send({ type: 'ferry.child.state', childId: 'to-1', state: 'Planning' });
    job.send(replicated(0));
    job.send(replicated(1, 'PermanentError'));
    assert.equal(job.value, 'Pruning');
    assert.deepEqual(spawns(job.actions).map((s) => [s.id, s.src, s.input.side, s.input.endpoint, s.input.rules[0].count]), [
      ['prune-sender', 'pruning', 'sender', 'dir:/s', 2], ['prune-to-0', 'pruning', 'receiver', 'dir:/r1', 5], ['prune-to-1', 'pruning', 'receiver', 'dir:/r2', 5],
    ]);
    job.send(pruned('prune-sender'));
    job.send(pruned('prune-to-0'));
    job.send(pruned('prune-to-1', 'PermanentError'));
    assert.equal(job.value, 'PermanentError');
    assert.match(job.context.problem, /1 of 2 receivers failed: dir:\/r2: boom; 1 of 3 prunings failed: receiver dir:\/r2: bad/);
  });

  it('an on-demand prune neither snapshots nor replicates; without a policy nothing is pruned', () => {
    const prune = run(jobMachine, { ...jobInput, snapshot: { name: 'auto_x' }, replicate: false });
    assert.equal(prune.value, 'Pruning');
    assert.deepEqual(spawns(prune.actions).map((s) => s.src), ['pruning', 'pruning', 'pruning']);
    const plain = run(jobMachine, { ...jobInput, pruning: null });
    plain.send({ type: 'ferry.child.state', childId: 'to-0', state: 'Planning' });
    plain.send({ type: 'ferry.child.state', childId: 'to-1', state: 'Planning' });
    plain.send(replicated(0));
    plain.send(replicated(1));
    assert.equal(plain.value, 'Completed');
  });
});
