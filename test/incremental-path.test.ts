import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../src/errors/index.js';
import { incrementalPath, type IncrementalPathResult } from '../src/replication/incremental-path.js';
import { batchSteps, planReplication } from '../src/replication/planner.js';
import { globToRegExp } from '../src/util/glob.js';
import type { StorageDriver, Version } from '../src/storage/driver.js';

/** A version; the guid defaults to one derived from the name, so tests can also make them differ. */
const ver = (name: string, createtxg: number, guid = `guid-${name}`): Version => ({ name, guid, createtxg });

function steps(result: IncrementalPathResult) {
  assert.ok('steps' in result, `expected steps, got conflict: ${'conflict' in result ? result.conflict.message : ''}`);
  return result.steps.map((s) => `${s.from?.name ?? '-'}>${s.to.name}`);
}
function conflict(result: IncrementalPathResult) {
  assert.ok('conflict' in result, `expected a conflict, got ${JSON.stringify(result)}`);
  return result.conflict;
}

const a = ver('a', 10);
const b = ver('b', 20);
const c = ver('c', 30);
const d = ver('d', 40);

describe('incrementalPath', () => {
  describe('empty receiver', () => {
    it('most_recent: one full step to the newest sender snapshot', () => {
      const r = incrementalPath([], [a, b, c], 'most_recent');
      assert.deepEqual(steps(r), ['->c']);
      assert.deepEqual(r, { steps: [{ from: null, to: c }] });
    });

    it('most_recent is the default', () => {
      assert.deepEqual(steps(incrementalPath([], [c, a, b])), ['->c']);
    });

    it('all: a full step to the oldest, then incrementals through every newer snapshot', () => {
      assert.deepEqual(steps(incrementalPath([], [c, a, b], 'all')), ['->a', 'a>b', 'b>c']);
    });

    it('all with a single snapshot is one full step', () => {
      assert.deepEqual(steps(incrementalPath([], [a], 'all')), ['->a']);
    });

    it('fail: a conflict that says the receiver is empty and what to do', () => {
      const k = conflict(incrementalPath([], [a, b], 'fail'));
      assert.equal(k.code, 'CONFLICT_RECEIVER_EMPTY');
      assert.match(k.message, /receiver has no versions/);
      assert.match(k.message, /"fail"/);
      assert.match(k.message, /most_recent/);
    });
  });

  it('common version in the middle: steps from it through every newer sender snapshot, one each', () => {
    assert.deepEqual(steps(incrementalPath([a, b], [a, b, c, d])), ['b>c', 'c>d']);
  });

  it('sorts both sides by createtxg, whatever order they come in', () => {
    assert.deepEqual(steps(incrementalPath([b, a], [d, b, a, c])), ['b>c', 'c>d']);
  });

  it('starts at the newest common version even if older ones are missing on the receiver', () => {
    // the receiver pruned a; b is still common
    assert.deepEqual(steps(incrementalPath([b], [a, b, c])), ['b>c']);
    // the sender pruned a; b is still common
    assert.deepEqual(steps(incrementalPath([a, b], [b, c])), ['b>c']);
  });

  it('already up to date: zero steps', () => {
    assert.deepEqual(incrementalPath([a, b, c], [a, b, c]), { steps: [] });
    assert.deepEqual(incrementalPath([c], [a, b, c], 'fail'), { steps: [] });
  });

  it('matches by guid only: different names and createtxgs on the receiver do not matter', () => {
    const rb = ver('renamed-on-receiver', 7, b.guid); // same guid as b, another name and txg
    assert.deepEqual(steps(incrementalPath([rb], [a, b, c, d])), ['b>c', 'c>d']);
  });

  it('matches by guid only: the same name with another guid is not common', () => {
    const fakeB = ver('b', 20, 'another-guid');
    const k = conflict(incrementalPath([fakeB], [a, b, c]));
    assert.equal(k.code, 'CONFLICT_NO_COMMON_VERSION');
  });

  it('diverged: receiver has versions newer than the newest common one', () => {
    const x = ver('x', 35);
    const y = ver('y', 36);
    const k = conflict(incrementalPath([a, b, x, y], [a, b, c, d]));
    assert.equal(k.code, 'CONFLICT_DIVERGED');
    assert.match(k.message, /@x/);
    assert.match(k.message, /@y/);
    assert.match(k.message, /@b/, 'names the common version');
    assert.match(k.message, /never destroys or rolls back/);
    assert.match(k.message, /by hand|another receiver/);
  });

  it('diverged even if the sender has nothing newer (receiver ahead with foreign data)', () => {
    const x = ver('x', 99);
    assert.equal(conflict(incrementalPath([c, x], [a, b, c])).code, 'CONFLICT_DIVERGED');
  });

  it('downgrade prevention: a receiver whose newest version is older on the sender than another it has', () => {
    // receiver got c, then b (by its own createtxg); sender made b before c: continuing from b would resend c
    const rc = ver('c', 1, c.guid);
    const rb = ver('b', 2, b.guid);
    const k = conflict(incrementalPath([rc, rb], [a, b, c, d]));
    assert.equal(k.code, 'CONFLICT_DIVERGED');
    assert.match(k.message, /older data over newer/);
  });

  it('downgrade prevention when the receiver has more versions than the path: names exactly the ones it would resend', () => {
    // receiver: a, then c, then b (its own order); sender: a b c d. The path from b is c, d: c is on the receiver
    const k = conflict(incrementalPath([ver('a', 1, a.guid), ver('c', 2, c.guid), ver('b', 3, b.guid)], [a, b, c, d]));
    assert.equal(k.code, 'CONFLICT_DIVERGED');
    assert.match(k.message, /comes after @c \(guid guid-c\) on the receiver/);
    // and when the path is that one version
    const one = conflict(incrementalPath([ver('a', 1, a.guid), ver('c', 2, c.guid), ver('b', 3, b.guid)], [a, b, c]));
    assert.match(one.message, /comes after @c \(guid guid-c\) on the receiver/);
  });

  it('never sends an older version: every step goes forward in createtxg', () => {
    const sender = [ver('s1', 1), ver('s2', 5), ver('s3', 9), ver('s4', 12), ver('s5', 20)];
    for (let i = 0; i < sender.length; i++) {
      const r = incrementalPath(sender.slice(0, i + 1), sender);
      assert.ok('steps' in r);
      assert.equal(r.steps.length, sender.length - 1 - i);
      for (const s of r.steps) assert.ok(s.from !== null && s.from.createtxg < s.to.createtxg);
    }
  });

  it('no common version: a conflict naming both sides', () => {
    const k = conflict(incrementalPath([ver('x', 1), ver('y', 2)], [a, b]));
    assert.equal(k.code, 'CONFLICT_NO_COMMON_VERSION');
    assert.match(k.message, /no common version/);
    assert.match(k.message, /@x/);
    assert.match(k.message, /@a/);
    assert.match(k.message, /never destroys or rolls back/);
  });

  it('sender without snapshots: a conflict, under every policy and receiver', () => {
    for (const initial of ['most_recent', 'all', 'fail'] as const) {
      for (const receiver of [[], [a]]) {
        const k = conflict(incrementalPath(receiver, [], initial));
        assert.equal(k.code, 'CONFLICT_SENDER_EMPTY');
        assert.match(k.message, /sender has no snapshots/);
        assert.match(k.message, /take a snapshot/);
      }
    }
  });

  it('steps carry plain Version objects (JSON-safe, no extra fields)', () => {
    const withExtra = { ...b, mountpoint: '/x' } as Version;
    const r = incrementalPath([a], [a, withExtra, ver('c', 30)]);
    assert.ok('steps' in r);
    assert.deepEqual(r.steps[0], { from: a, to: b });
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });

  it('does not modify its inputs', () => {
    const sender = [c, a, b];
    const receiver = [b, a];
    incrementalPath(receiver, sender);
    assert.deepEqual(sender, [c, a, b]);
    assert.deepEqual(receiver, [b, a]);
  });
});

// ---------------------------------------------------------------------------------------------

class MemoryDriver implements StorageDriver {
  calls: string[] = [];
  capabilities: StorageDriver['capabilities'] = { batch: false, resumable: false, atomicSnapshots: false };
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    readonly kind: 'dir' | 'zfs' | 'btrfs',
    readonly endpoint: string,
    private readonly data: Record<string, Version[]>,
    private readonly failWith?: Error,
  ) {}
  async listFilesystems(): Promise<string[]> {
    this.calls.push('listFilesystems');
    if (this.failWith) throw this.failWith;
    return Object.keys(this.data);
  }
  async listVersions(fs: string): Promise<Version[]> {
    this.calls.push(`listVersions ${fs}`);
    if (this.failWith) throw this.failWith;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await new Promise((r) => setImmediate(r));
    this.inFlight--;
    // as the driver contract says: a filesystem that does not exist has no versions
    return this.data[fs] ?? [];
  }
  async snapshot(): Promise<Version[]> {
    throw new Error('not used');
  }
  async destroySnapshot(): Promise<void> {
    throw new Error('not used');
  }
  async send(): Promise<never> {
    throw new Error('not used');
  }
  async receive(_fs: string, _s: Readable): Promise<Version> {
    throw new Error('not used');
  }
}

describe('planReplication', () => {
  it('plans every sender filesystem in name order, missing receiver filesystems as empty', async () => {
    const sender = new MemoryDriver('dir', 'dir:/src', { 'b': [a, b], 'a/x': [a], 'a': [a, b, c], 'c': [] });
    const receiver = new MemoryDriver('dir', 'dir:/dst', { a: [a], b: [ver('z', 1)] });
    const plan = await planReplication({ sender, receiver, initial: 'all' });
    assert.deepEqual(plan.filesystems.map((f) => f.name), ['a', 'a/x', 'b', 'c']);
    const [fa, fax, fb, fc] = plan.filesystems;
    assert.deepEqual(fa, { name: 'a', steps: [{ from: a, to: b }, { from: b, to: c }] });
    assert.deepEqual(fax, { name: 'a/x', steps: [{ from: null, to: a }] });
    assert.deepEqual(fb.steps, []);
    assert.match(fb.problem ?? '', /no common version/);
    assert.match(fc.problem ?? '', /sender has no snapshots/);
  });

  it('keeps at most as many listings in flight as the drivers ask for (listingsAtOnce), 4 by default', async () => {
    const data = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`fs${i}`, [a, b]]));
    const plan = async (listingsAtOnce?: number) => {
      const sender = new MemoryDriver('dir', 'dir:/src', data);
      const receiver = new MemoryDriver('dir', 'dir:/dst', data);
      if (listingsAtOnce !== undefined) receiver.capabilities = { ...receiver.capabilities, listingsAtOnce };
      await planReplication({ sender, receiver });
      return [sender.maxInFlight, receiver.maxInFlight];
    };
    assert.deepEqual(await plan(), [4, 4]);
    assert.deepEqual(await plan(2), [2, 2]);
    assert.deepEqual(await plan(1), [1, 1]);
  });

  it('filters sender filesystems with the glob', async () => {
    const sender = new MemoryDriver('zfs', 'zfs:p1/data', { 'web': [a], 'web/db': [a], 'mail': [a], 'we': [a] });
    const receiver = new MemoryDriver('zfs', 'zfs:p2/backup', {});
    const plan = await planReplication({ sender, receiver, filesystems: 'web*' });
    assert.deepEqual(plan.filesystems.map((f) => f.name), ['web', 'web/db']);
    const plan2 = await planReplication({ sender, receiver, filesystems: 'w?' });
    assert.deepEqual(plan2.filesystems.map((f) => f.name), ['we']);
    assert.equal(sender.calls.includes('listVersions mail'), false);
  });

  it('refuses endpoints of different kinds before touching either', async () => {
    const sender = new MemoryDriver('zfs', 'zfs:p1/data', { a: [a] });
    const receiver = new MemoryDriver('btrfs', 'btrfs:/mnt/b', {});
    await assert.rejects(planReplication({ sender, receiver }), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.ok(err instanceof PermanentError);
      assert.equal(err.kind, 'permanent');
      assert.match(err.message, /same storage kind/);
      return true;
    });
    assert.deepEqual(sender.calls, []);
    assert.deepEqual(receiver.calls, []);
  });

  it('passes driver errors through with their kind', async () => {
    const sender = new MemoryDriver('dir', 'dir:/src', { a: [a] });
    const receiver = new MemoryDriver('dir', 'dir:/dst', {}, new TemporaryError('agent unreachable'));
    await assert.rejects(planReplication({ sender, receiver }), TemporaryError);
  });

  it('initial policy fail puts the conflict in the filesystem problem', async () => {
    const sender = new MemoryDriver('dir', 'dir:/src', { a: [a, b] });
    const receiver = new MemoryDriver('dir', 'dir:/dst', {});
    const plan = await planReplication({ sender, receiver, initial: 'fail' });
    assert.deepEqual(plan.filesystems[0].steps, []);
    assert.match(plan.filesystems[0].problem ?? '', /initial replication policy is "fail"/);
  });
});

describe('globToRegExp', () => {
  it('supports * (any run, / included) and ? (one character), everything else literal', () => {
    assert.ok(globToRegExp('tank/*').test('tank/a/b'));
    assert.ok(!globToRegExp('tank/*').test('tank'));
    assert.ok(globToRegExp('a?c').test('abc'));
    assert.ok(!globToRegExp('a?c').test('abbc'));
    assert.ok(globToRegExp('a.b+(c)').test('a.b+(c)'));
    assert.ok(!globToRegExp('a.b').test('axb'));
    assert.ok(globToRegExp('*').test(''));
  });
});

describe('snapshot filters and batching', () => {
  const hourly1 = ver('hourly-1', 10);
  const daily1 = ver('daily-1', 20);
  const hourly2 = ver('hourly-2', 30);
  const daily2 = ver('daily-2', 40);
  const all = [hourly1, daily1, hourly2, daily2];

  it('--include-snapshots replicates only matching snapshots', async () => {
    const sender = new MemoryDriver('dir', 'dir:/s', { fs: all });
    const plan = await planReplication({ sender, receiver: new MemoryDriver('dir', 'dir:/r', {}), initial: 'all', includeSnapshots: '^daily-' });
    assert.deepEqual(plan.filesystems[0].steps, [{ from: null, to: daily1 }, { from: daily1, to: daily2 }]);
  });

  it('--exclude-snapshots skips matching snapshots; a filtered snapshot the receiver has is still the common base', async () => {
    const sender = new MemoryDriver('dir', 'dir:/s', { fs: all });
    const receiver = new MemoryDriver('dir', 'dir:/r', { fs: [hourly1] });
    const plan = await planReplication({ sender, receiver, excludeSnapshots: '^hourly' });
    assert.deepEqual(plan.filesystems[0].steps, [{ from: hourly1, to: daily1 }, { from: daily1, to: daily2 }]);
  });

  it('says so when the filters leave nothing to send', async () => {
    const sender = new MemoryDriver('dir', 'dir:/s', { fs: all });
    const plan = await planReplication({ sender, receiver: new MemoryDriver('dir', 'dir:/r', {}), includeSnapshots: '^weekly' });
    assert.match(plan.filesystems[0].problem ?? '', /none of the 4 snapshots of fs passes the snapshot filters/);
  });

  it('refuses an invalid regular expression naming the flag', async () => {
    const sender = new MemoryDriver('dir', 'dir:/s', { fs: all });
    await assert.rejects(planReplication({ sender, receiver: new MemoryDriver('dir', 'dir:/r', {}), includeSnapshots: '(' }), /--include-snapshots "\(" is not a valid regular expression/);
  });

  it('--batch joins adjacent incremental steps where both drivers can, never across a filtered snapshot', async () => {
    const sender = new MemoryDriver('zfs', 'zfs:p/s', { fs: all });
    const receiver = new MemoryDriver('zfs', 'zfs:p/r', { fs: [hourly1] });
    sender.capabilities = receiver.capabilities = { batch: true, resumable: false, atomicSnapshots: true };
    const plan = await planReplication({ sender, receiver, batch: true });
    assert.deepEqual(plan.filesystems[0].steps, [{ from: hourly1, to: daily2, intermediates: true }]);
    const filtered = await planReplication({ sender, receiver, batch: true, excludeSnapshots: '^hourly-2$' });
    assert.deepEqual(filtered.filesystems[0].steps, [{ from: hourly1, to: daily1 }, { from: daily1, to: daily2 }]);
    const unsupported = await planReplication({ sender: new MemoryDriver('dir', 'dir:/s', { fs: all }), receiver: new MemoryDriver('dir', 'dir:/r', { fs: [hourly1] }), batch: true });
    assert.equal(unsupported.filesystems[0].steps.length, 3, 'a driver without batch keeps one step per snapshot');
  });

  it('batchSteps keeps the full send separate', () => {
    const steps = [{ from: null, to: hourly1 }, { from: hourly1, to: daily1 }, { from: daily1, to: hourly2 }];
    assert.deepEqual(batchSteps(steps, all), [{ from: null, to: hourly1 }, { from: hourly1, to: hourly2, intermediates: true }]);
  });
});

describe('step ETA', () => {
  it('estimates seconds left from the average rate of the running step', async () => {
    const { eta } = await import('../src/replication/report.js');
    assert.equal(eta({ bytes: 50, total: 200, startedAt: 1000, at: 6000 }), 15);
    assert.equal(eta({ bytes: 50, startedAt: 1000, at: 6000 }), null, 'unknown size: no ETA');
    assert.equal(eta({ bytes: 0, total: 200, startedAt: 1000, at: 6000 }), null, 'no rate yet');
  });
});
