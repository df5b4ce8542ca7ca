import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, initialTransition, transition, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import {
  ARCHIVE_BATCH,
  partitionMachine,
  LEGACY_CONSUMER,
  partitionMachineId,
  partitionMachineVersion,
  summarizePartition,
  type ArchiveEntryOutput,
  type PartitionContext,
  type PartitionInput,
} from '../machines/index.js';
import { raises, spawns, stops, type Action } from './helpers/machine-actions.js';

// Drives the partition machine with the pure functions only, as the engine does.

type Snapshot = SnapshotFrom<typeof partitionMachine>;

function emits(actions: Action[]) {
  return actions.filter((a) => a.type === 'xstate.emit');
}
function cancels(actions: Action[]): string[] {
  return actions.filter((a) => a.type === 'xstate.cancel').map((a) => a.params?.sendId as string);
}

const TIMER = 'xstate.after.backoff.partition.WorkingWait';
const temporary = (message = 'sink unavailable', code = 'SINK_UNAVAILABLE') => ({ name: 'TemporaryError', message, kind: 'temporary' as const, code });
const permanent = (message: string, code: string) => ({ name: 'PermanentError', message, kind: 'permanent' as const, code });
const notify = (lowWaterMark: number, highWaterMark: number) => ({ type: 'ferry.notify', lowWaterMark, highWaterMark });
const archived = (bytes = 100): { type: string; output: ArchiveEntryOutput } => ({ type: 'xstate.done.actor.archive', output: { status: 'archived', bytes } });
const present = (bytes = 100): { type: string; output: ArchiveEntryOutput } => ({ type: 'xstate.done.actor.archive', output: { status: 'present', bytes } });

class Driver {
  actions: Action[];
  constructor(
    public snapshot: Snapshot,
    actions: unknown[],
  ) {
    this.actions = actions as Action[];
  }
  send(event: { type: string; [k: string]: unknown }): Action[] {
    const [next, actions] = transition(partitionMachine, this.snapshot, event as any);
    this.snapshot = next;
    this.actions = actions as Action[];
    return this.actions;
  }
  get value() {
    return this.snapshot.value;
  }
  get context(): PartitionContext {
    return this.snapshot.context;
  }
  /** the LSN of the archive effect started by the last transition (asserts exactly one) */
  startedLsn(): number {
    const s = spawns(this.actions);
    assert.equal(s.length, 1, `exactly one effect started, got ${JSON.stringify(s.map((x) => x.src))}`);
    assert.equal(s[0].id, 'archive');
    assert.equal(s[0].src, 'archiveEntry');
    return s[0].input.lsn;
  }
}

function start(input: Partial<PartitionInput> = {}) {
  const full: PartitionInput = { storage: 'node1', partition: '7', log: '/var/lib/wal', sink: 'file:///srv/archive', consumer: 'c1', nextLsn: 1, ...input };
  const [snapshot, actions] = initialTransition(partitionMachine, full);
  return new Driver(snapshot, actions);
}

/** What the engine does with a stored snapshot: JSON in, a snapshot for `transition` out. */
function restore(snapshot: Snapshot): Snapshot {
  const persisted = JSON.parse(JSON.stringify(partitionMachine.getPersistedSnapshot(snapshot)));
  // (as the engine does; the input is only needed to start fresh, not to restore)
  return createActor(partitionMachine as AnyStateMachine, { snapshot: persisted }).getSnapshot() as Snapshot;
}

describe('partition machine', () => {
  it('exports a version and a stable id', () => {
    assert.equal(partitionMachineVersion, '1');
    assert.equal(partitionMachineId('0123abcd', 'node1', '7'), 'wal.0123abcd.node1.7');
    assert.equal(partitionMachineId('t', 's_a-b', 'p-1'), 'wal.t.s_a-b.p-1');
  });

  it('starts Idle with the input and defaults, doing nothing', () => {
    const p = start({ nextLsn: 42 });
    assert.equal(p.value, 'Idle');
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.context, {
      storage: 'node1', partition: '7', log: '/var/lib/wal', sink: 'file:///srv/archive', consumer: 'c1',
      nextLsn: 42, highWaterMark: 0, backoffMs: 5000, retry: { initialMs: 5000, maxMs: 300000 },
      archived: 0, present: 0, gaps: 0, lastError: null, problem: null,
    } satisfies PartitionContext);
    assert.deepEqual(summarizePartition(p.context), {
      nextLsn: 42, highWaterMark: 0, backoffMs: 5000, archived: 0, present: 0, gaps: 0, lastError: null, problem: null,
    });
  });

  it('an empty partition (nextLsn 0 or missing) starts at LSN 1', () => {
    assert.equal(start({ nextLsn: 0 }).context.nextLsn, 1);
    assert.equal(start({ nextLsn: Number.NaN }).context.nextLsn, 1);
  });

  it('archives in batches of at most ARCHIVE_BATCH entries, each effect from the entry after the last one archived', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, ARCHIVE_BATCH + 10));
    const [first] = spawns(p.actions);
    assert.deepEqual([first.input.lsn, first.input.upTo], [1, ARCHIVE_BATCH]);
    p.send({ type: 'xstate.done.actor.archive', output: { status: 'archived', bytes: 640, lastLsn: ARCHIVE_BATCH, archived: ARCHIVE_BATCH - 2, present: 2 } });
    assert.equal(p.value, 'Working');
    const [second] = spawns(p.actions);
    assert.deepEqual([second.input.lsn, second.input.upTo], [ARCHIVE_BATCH + 1, ARCHIVE_BATCH + 10]);
    // a batch that ended early (a failure after 3 entries): the next effect starts after them
    p.send({ type: 'xstate.done.actor.archive', output: { status: 'archived', bytes: 30, lastLsn: ARCHIVE_BATCH + 3, archived: 3, present: 0 } });
    const [third] = spawns(p.actions);
    assert.deepEqual([third.input.lsn, third.input.upTo], [ARCHIVE_BATCH + 4, ARCHIVE_BATCH + 10]);
    p.send({ type: 'xstate.done.actor.archive', output: { status: 'present', bytes: 70, lastLsn: ARCHIVE_BATCH + 10, archived: 0, present: 7 } });
    assert.equal(p.value, 'Idle');
    assert.deepEqual(summarizePartition(p.context), {
      nextLsn: ARCHIVE_BATCH + 11, highWaterMark: ARCHIVE_BATCH + 10, backoffMs: 5000, archived: ARCHIVE_BATCH + 1, present: 9, gaps: 0, lastError: null, problem: null,
    });
  });

  it('archives in LSN order across notifications, one entry in flight', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 3));
    assert.equal(p.value, 'Working');
    const [s] = spawns(p.actions);
    assert.deepEqual(s.input, { storage: 'node1', partition: '7', log: '/var/lib/wal', sink: 'file:///srv/archive', consumer: 'c1', lsn: 1, upTo: 3 });

    // outputs without `lastLsn` (effects from before batches) count as one entry each
    const seen: number[] = [p.startedLsn()];
    // a notification while working raises the high water mark but starts nothing
    p.send(notify(1, 5));
    assert.deepEqual(spawns(p.actions), [], 'never two in flight');
    assert.equal(p.context.highWaterMark, 5);
    // out-of-order (older) notification never lowers the high water mark
    p.send(notify(1, 2));
    assert.equal(p.context.highWaterMark, 5);
    assert.deepEqual(spawns(p.actions), []);

    for (let lsn = 1; lsn < 5; lsn++) {
      p.send(lsn === 2 ? present() : archived());
      assert.equal(p.value, 'Working');
      assert.deepEqual(stops(p.actions), ['archive'], 'the finished effect is released');
      seen.push(p.startedLsn());
    }
    p.send(archived());
    assert.equal(p.value, 'Idle', 'caught up');
    assert.deepEqual(spawns(p.actions), []);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.deepEqual(summarizePartition(p.context), {
      nextLsn: 6, highWaterMark: 5, backoffMs: 5000, archived: 4, present: 1, gaps: 0, lastError: null, problem: null,
    });

    // new entries later: on from 6
    p.send(notify(3, 7));
    assert.equal(p.value, 'Working');
    assert.equal(p.startedLsn(), 6);
    p.send(archived());
    assert.equal(p.startedLsn(), 7);
    p.send(archived());
    assert.equal(p.value, 'Idle');
    assert.equal(p.context.nextLsn, 8);
  });

  it('stays Idle on a notification of an empty partition', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(0, 0));
    assert.equal(p.value, 'Idle');
    assert.deepEqual(p.actions, [], 'nothing archived yet: nothing to re-acknowledge');
  });

  it('a notification with nothing new re-acknowledges nextLsn - 1 from Idle', () => {
    const p = start({ nextLsn: 10 });
    p.send(notify(4, 9));
    assert.equal(p.value, 'Acknowledging');
    const s = spawns(p.actions);
    assert.equal(s.length, 1);
    assert.equal(s[0].id, 'acknowledge');
    assert.equal(s[0].src, 'acknowledge');
    assert.deepEqual(s[0].input, { storage: 'node1', partition: '7', log: '/var/lib/wal', consumer: 'c1', lsn: 9 });
    assert.equal(p.context.highWaterMark, 9);

    // another notification during the acknowledgement does not start a second one
    p.send(notify(4, 9));
    assert.equal(p.value, 'Acknowledging');
    assert.deepEqual(spawns(p.actions), []);

    p.send({ type: 'xstate.done.actor.acknowledge' });
    assert.equal(p.value, 'Idle');
    assert.deepEqual(spawns(p.actions), []);
  });

  it('an acknowledgement failure is remembered, not fatal', () => {
    const p = start({ nextLsn: 10 });
    p.send(notify(4, 9));
    p.send({ type: 'xstate.error.actor.acknowledge', error: permanent('log source gone', 'ENOENT') });
    assert.equal(p.value, 'Idle');
    assert.equal(p.snapshot.status, 'active');
    assert.deepEqual(p.context.lastError, { code: 'ENOENT', message: 'log source gone' });
    assert.equal(p.context.problem, null);
  });

  it('new entries notified during Acknowledging are archived right after it', () => {
    const p = start({ nextLsn: 10 });
    p.send(notify(4, 9));
    p.send(notify(4, 11));
    assert.equal(p.value, 'Acknowledging');
    p.send({ type: 'xstate.done.actor.acknowledge' });
    assert.equal(p.value, 'Working');
    assert.equal(p.startedLsn(), 10);
  });

  it('does not re-acknowledge while Working (the next archive acknowledges)', () => {
    const p = start({ nextLsn: 10 });
    p.send(notify(4, 12));
    assert.equal(p.startedLsn(), 10);
    p.send(notify(4, 9));
    assert.equal(p.value, 'Working');
    assert.deepEqual(spawns(p.actions), []);
    assert.equal(p.context.highWaterMark, 12);
  });

  it('a gap (low water mark above nextLsn) is emitted, counted and skipped', () => {
    const p = start({ nextLsn: 3 });
    p.send(notify(8, 9));
    assert.equal(p.value, 'Working');
    const [emit] = emits(p.actions);
    assert.ok(emit, 'the gap is emitted');
    assert.equal(emit.type, 'xstate.emit');
    assert.deepEqual(emit.params.event, { type: 'archive.gap', storage: 'node1', partition: '7', expected: 3, lowWaterMark: 8 });
    assert.equal(emits(p.actions).length, 1);
    assert.equal(p.startedLsn(), 8, 'archiving goes on at the low water mark');
    assert.equal(p.context.gaps, 1);
    assert.equal(p.context.nextLsn, 8);
    // no gap when the low water mark is at or below nextLsn
    p.send(notify(8, 9));
    assert.deepEqual(emits(p.actions), []);
    assert.equal(p.context.gaps, 1);
  });

  it('a gap while Working drops the pruned entry and archives from the low water mark', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 10));
    assert.equal(p.startedLsn(), 1);
    p.send(notify(5, 10));
    assert.equal(p.value, 'Working');
    assert.equal(emits(p.actions).length, 1);
    assert.deepEqual(stops(p.actions), ['archive']);
    assert.equal(p.startedLsn(), 5, 'still one in flight: the new one');
    assert.equal(p.context.gaps, 1);
    p.send(archived());
    assert.equal(p.startedLsn(), 6);

    // a gap past everything known while Working: caught up
    p.send(notify(20, 12));
    assert.equal(p.value, 'Idle');
    assert.deepEqual(spawns(p.actions), []);
    assert.equal(p.context.nextLsn, 20);
    assert.equal(p.context.gaps, 2);
  });

  it('a gap while waiting skips ahead and retries there', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 10));
    p.send({ type: 'xstate.error.actor.archive', error: temporary() });
    assert.equal(p.value, 'WorkingWait');
    p.send(notify(4, 10));
    assert.equal(p.value, 'WorkingWait', 'the backoff still applies');
    assert.equal(emits(p.actions).length, 1);
    assert.equal(p.context.nextLsn, 4);
    p.send({ type: TIMER });
    assert.equal(p.startedLsn(), 4);
  });

  it('a temporary failure waits `backoff`: 5 s, 10 s, ... capped at 300 s, then halves on success', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 3));
    const expected = [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000];
    for (const delay of expected) {
      p.send({ type: 'xstate.error.actor.archive', error: temporary('connection refused') });
      assert.equal(p.value, 'WorkingWait');
      assert.deepEqual(p.context.lastError, { code: 'SINK_UNAVAILABLE', message: 'connection refused' });
      assert.equal(p.context.problem, null);
      const timers = raises(p.actions);
      assert.equal(timers.length, 1);
      assert.equal(timers[0].delay, delay);
      assert.equal(timers[0].event.type, TIMER);
      assert.equal(p.context.backoffMs, delay, 'backoffMs is the wait in effect');
      p.send(timers[0].event);
      assert.equal(p.value, 'Working');
      assert.equal(p.startedLsn(), 1, 'the same LSN again');
    }
    assert.equal(p.context.backoffMs, 300_000);

    p.send(archived());
    assert.equal(p.context.backoffMs, 150_000, 'halved on success');
    assert.equal(p.context.lastError, null);
    assert.equal(p.startedLsn(), 2);
    p.send({ type: 'xstate.error.actor.archive', error: temporary() });
    assert.equal(raises(p.actions)[0].delay, 150_000);
    p.send({ type: TIMER });
    p.send(archived());
    assert.equal(p.context.backoffMs, 150_000, '300 s after the wait, halved');
    p.send(archived());
    assert.equal(p.value, 'Idle');
    assert.equal(p.context.backoffMs, 75_000);
  });

  it('halving never goes below initialMs; custom retry policy', () => {
    const p = start({ nextLsn: 1, retry: { initialMs: 100, maxMs: 250 } });
    p.send(notify(1, 10));
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      p.send({ type: 'xstate.error.actor.archive', error: temporary() });
      delays.push(raises(p.actions)[0].delay);
      p.send({ type: TIMER });
    }
    assert.deepEqual(delays, [100, 200, 250, 250]);
    for (let i = 0; i < 5; i++) p.send(archived());
    assert.equal(p.context.backoffMs, 100);
  });

  it('an error without a kind counts as temporary', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 1));
    p.send({ type: 'xstate.error.actor.archive', error: { message: 'weird' } });
    assert.equal(p.value, 'WorkingWait');
    assert.deepEqual(p.context.lastError, { code: 'ERROR', message: 'weird' });
  });

  it('ferry.wakeup ends the wait at once; the stale timer is then ignored', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 2));
    p.send({ type: 'xstate.error.actor.archive', error: temporary() });
    const [timer] = raises(p.actions);
    p.send({ type: 'ferry.wakeup' });
    assert.equal(p.value, 'Working');
    assert.deepEqual(cancels(p.actions), [timer.id], 'the timer is cancelled');
    assert.equal(p.startedLsn(), 1);
    // the next wait is longer even though the last one was cut short
    assert.equal(p.context.backoffMs, 10_000);

    const before = p.snapshot;
    p.send(timer.event);
    assert.equal(p.value, 'Working');
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.context, before.context);

    // wakeup outside WorkingWait does nothing
    p.send({ type: 'ferry.wakeup' });
    assert.deepEqual(p.actions, []);
    assert.equal(p.value, 'Working');
  });

  it('a permanent failure stops in Failed (not final) naming the LSN and the code', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 5));
    p.send(archived());
    p.send(archived());
    p.send({ type: 'xstate.error.actor.archive', error: permanent('already in the sink with different content', 'CHECKSUM_MISMATCH') });
    assert.equal(p.value, 'Failed');
    assert.equal(p.snapshot.status, 'active', 'not final');
    assert.deepEqual(raises(p.actions), []);
    assert.deepEqual(spawns(p.actions), []);
    assert.match(p.context.problem!, /LSN 3\b/);
    assert.match(p.context.problem!, /CHECKSUM_MISMATCH/);
    assert.match(p.context.problem!, /different content/);
    assert.deepEqual(p.context.lastError, { code: 'CHECKSUM_MISMATCH', message: 'already in the sink with different content' });
    assert.equal(p.context.nextLsn, 3);

    // keeps tracking the high water mark, starts nothing
    p.send(notify(1, 9));
    assert.equal(p.value, 'Failed');
    assert.equal(p.context.highWaterMark, 9);
    assert.deepEqual(spawns(p.actions), []);
    // neither wakeup nor a stale timer leaves Failed
    p.send({ type: 'ferry.wakeup' });
    p.send({ type: TIMER });
    assert.equal(p.value, 'Failed');
  });

  it('ferry.reset leaves Failed: clears the problem and resumes at the same LSN', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 4));
    p.send({ type: 'xstate.error.actor.archive', error: permanent('bad', 'CHECKSUM_MISMATCH') });
    assert.equal(p.value, 'Failed');
    p.send({ type: 'ferry.reset' });
    assert.equal(p.context.problem, null);
    // entries are pending, so Idle moves on to Working in the same step
    assert.equal(p.value, 'Working');
    assert.equal(p.startedLsn(), 1);
  });

  it('ferry.reset with nothing pending rests in Idle', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 1));
    p.send({ type: 'xstate.error.actor.archive', error: permanent('bad', 'CHECKSUM_MISMATCH') });
    // an operator skipped the entry out of band; the source pruned it and reports a gap
    p.send(notify(2, 1));
    assert.equal(p.value, 'Failed');
    assert.equal(p.context.nextLsn, 2);
    p.send({ type: 'ferry.reset' });
    assert.equal(p.value, 'Idle');
    assert.equal(p.context.problem, null);
    assert.deepEqual(spawns(p.actions), []);
    // reset in other states is ignored
    p.send({ type: 'ferry.reset' });
    assert.deepEqual(p.actions, []);
  });

  it('ignores late and duplicate effect results', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 1));
    p.send(archived());
    assert.equal(p.value, 'Idle');
    const ctx = p.context;
    p.send(archived());
    p.send({ type: 'xstate.error.actor.archive', error: temporary() });
    p.send({ type: 'xstate.error.actor.acknowledge', error: temporary() });
    p.send({ type: 'xstate.done.actor.acknowledge' });
    assert.equal(p.snapshot.status, 'active');
    assert.equal(p.value, 'Idle');
    assert.deepEqual(p.context, ctx);
  });

  it('survives a JSON round trip of its persisted snapshot mid-wait', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 3));
    p.send(archived());
    p.send({ type: 'xstate.error.actor.archive', error: temporary() });
    p.send({ type: 'xstate.after.backoff.partition.WorkingWait' });
    p.send({ type: 'xstate.error.actor.archive', error: temporary() });
    const [timer] = raises(p.actions);
    assert.equal(timer.delay, 10_000);

    const restored = restore(p.snapshot);
    assert.equal(restored.value, 'WorkingWait');
    assert.deepEqual(restored.context, p.context);
    const [next, actions] = transition(partitionMachine, restored, timer.event as any);
    assert.equal(next.value, 'Working');
    const s = spawns(actions as Action[]);
    assert.equal(s.length, 1);
    assert.equal(s[0].input.lsn, 2);
    assert.equal(next.context.backoffMs, 20_000);

    // and mid-work: the result of the restored invoke is applied
    const again = restore(next);
    const [done] = transition(partitionMachine, again, archived() as any);
    assert.equal(done.value, 'Working');
    assert.equal(done.context.nextLsn, 3);
    assert.equal(done.context.archived, 2);
    assert.equal(done.context.backoffMs, 10_000);

    // Failed survives too, and reset still works after it
    const f = new Driver(restore(done), []);
    f.send({ type: 'xstate.error.actor.archive', error: permanent('bad', 'CHECKSUM_MISMATCH') });
    const failed = restore(f.snapshot);
    assert.equal(failed.value, 'Failed');
    assert.match(failed.context.problem!, /LSN 3/);
    const [reset, resetActions] = transition(partitionMachine, failed, { type: 'ferry.reset' });
    assert.equal(reset.value, 'Working');
    assert.equal(spawns(resetActions as Action[])[0].input.lsn, 3);
  });

  it('a snapshot from before consumers had names (no consumer in its context) acknowledges as the legacy consumer', () => {
    const p = start({ nextLsn: 1 });
    p.send(notify(1, 3));
    const persisted = JSON.parse(JSON.stringify(partitionMachine.getPersistedSnapshot(p.snapshot)));
    delete persisted.context.consumer;
    const legacy = new Driver(createActor(partitionMachine as AnyStateMachine, { snapshot: persisted }).getSnapshot() as Snapshot, []);
    legacy.send(archived());
    assert.equal(spawns(legacy.actions)[0].input.consumer, LEGACY_CONSUMER);
    assert.equal(LEGACY_CONSUMER, 'archiver');
  });
});
