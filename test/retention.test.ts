import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldOf, InvalidArgumentError } from '../src/errors/index.js';
import { fitGrid, KEEP_ALL, parseGridSpec } from '../src/retention/grid.js';
import { planPruning, REASON_DESTROY, REASON_FUTURE, REASON_NO_RULES, REASON_NOT_REPLICATED, type PlanInput, type PlanResult, type SnapshotInfo } from '../src/retention/plan.js';
import { parseKeepRules, parseRetentionPolicy, type KeepRule } from '../src/retention/rules.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

const snap = (name: string, createdAt: number): SnapshotInfo => ({ name, createdAt });
const plan = (snapshots: SnapshotInfo[], rules: KeepRule[], extra: Partial<PlanInput> = {}): PlanResult =>
  planPruning({ snapshots, rules, prefix: 'ferry', now: T0, ...extra });
const kept = (r: PlanResult) => r.keep.map((k) => k.name).sort();
const destroyed = (r: PlanResult) => r.destroy.map((d) => d.name).sort();
const reasonsOf = (r: PlanResult, name: string) => r.keep.find((k) => k.name === name)?.reasons;

/** Every input snapshot is in exactly one list. */
function assertPartition(r: PlanResult, snapshots: SnapshotInfo[]): void {
  const names = [...r.keep.map((k) => k.name), ...r.destroy.map((d) => d.name)].sort();
  assert.deepEqual(names, snapshots.map((s) => s.name).sort());
}

function expectInvalid(fn: () => unknown, field: string, message?: RegExp | string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
    assert.equal(fieldOf(err), field);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

describe('grid (zrepl semantics)', () => {
  it("the zrepl docs' example: 1x1h(keep=all) | 2x2h | 1x3h over a..z A..D", () => {
    // minutes before the newest snapshot `a`, placed as in docs/configuration/prune.rst
    const ago: Record<string, number> = {
      a: 0, b: 20, c: 40, // bucket 1 (a-1h, a], keep=all
      d: 60, e: 80, f: 100, g: 120, h: 140, i: 160, // bucket 2 (a-3h, a-1h]: d sits on the edge and falls into the older bucket
      j: 180, k: 195, l: 210, m: 225, n: 240, o: 260, p: 290, // bucket 3 (a-5h, a-3h]
      q: 300, r: 318, s: 336, t: 354, u: 372, v: 390, w: 408, x: 426, y: 444, z: 462, // bucket 4 (a-8h, a-5h]
      A: 480, B: 500, C: 520, D: 539, // older than the grid (A on its far edge)
    };
    const snaps = Object.entries(ago).map(([n, m]) => snap(`ferry_${n}`, T0 - m * MIN));
    const r = plan(snaps, [{ type: 'grid', grid: '1x1h(keep=all) | 2x2h | 1x3h' }]);
    assert.deepEqual(kept(r), ['ferry_a', 'ferry_b', 'ferry_c', 'ferry_i', 'ferry_p', 'ferry_z']);
    assert.deepEqual(reasonsOf(r, 'ferry_b'), ['grid 1x1h(keep=all): bucket 1']);
    assert.deepEqual(reasonsOf(r, 'ferry_i'), ['grid 2x2h: bucket 1']);
    assert.deepEqual(reasonsOf(r, 'ferry_p'), ['grid 2x2h: bucket 2']);
    assert.deepEqual(reasonsOf(r, 'ferry_z'), ['grid 1x3h: bucket 1']);
    assert.equal(r.destroy.length, 24);
    assert.ok(r.destroy.every((d) => d.reason === REASON_DESTROY));
    assertPartition(r, snaps);
  });

  it('1x1h(keep=all) | 24x1h | 14x1d over 20 days of hourly snapshots keeps 1 + 24 + 14', () => {
    const snaps = Array.from({ length: 20 * 24 }, (_, i) => snap(`ferry_${String(i).padStart(4, '0')}`, T0 - i * H));
    const r = plan(snaps, [{ type: 'grid', grid: '1x1h(keep=all) | 24x1h | 14x1d' }]);
    assert.equal(r.keep.length, 1 + 24 + 14);
    // the hour buckets keep every snapshot 1h..24h old; each day bucket (a-25h-(k+1)d, a-25h-kd] its oldest
    const expected = [0, ...Array.from({ length: 24 }, (_, i) => i + 1), ...Array.from({ length: 14 }, (_, k) => 25 + (k + 1) * 24 - 1)];
    assert.deepEqual(kept(r), expected.map((i) => `ferry_${String(i).padStart(4, '0')}`).sort());
    assert.deepEqual(reasonsOf(r, 'ferry_0003'), ['grid 24x1h: bucket 3']);
    assert.deepEqual(reasonsOf(r, 'ferry_0360'), ['grid 14x1d: bucket 14']);
  });

  it('anchors at the newest snapshot the rule considers, not at now', () => {
    // the newest snapshot is 10 days old: a 1-day grid still keeps it and its neighbours
    const snaps = [snap('ferry_a', T0 - 10 * D), snap('ferry_b', T0 - 10 * D - H), snap('ferry_c', T0 - 12 * D)];
    const r = plan(snaps, [{ type: 'grid', grid: '2x1h(keep=all)' }]);
    assert.deepEqual(kept(r), ['ferry_a', 'ferry_b']);
    assert.deepEqual(destroyed(r), ['ferry_c']);
  });

  it('a bucket keeps its keep oldest snapshots; keep=all keeps every one', () => {
    const snaps = [0, 10, 20, 30, 40, 50].map((m) => snap(`ferry_${m}`, T0 - m * MIN));
    assert.deepEqual(kept(plan(snaps, [{ type: 'grid', grid: '1x1h(keep=2)' }])), ['ferry_40', 'ferry_50']);
    assert.equal(plan(snaps, [{ type: 'grid', grid: '1x1h(keep=all)' }]).keep.length, 6);
    // default keep=1: the oldest only (the newest is not special to the grid)
    assert.deepEqual(kept(plan(snaps, [{ type: 'grid', grid: '1x1h' }])), ['ferry_50']);
  });

  it('a snapshot exactly one bucket length older than the anchor falls into the second bucket', () => {
    const snaps = [snap('ferry_new', T0), snap('ferry_edge', T0 - H)];
    const r = plan(snaps, [{ type: 'grid', grid: '2x1h' }]);
    assert.deepEqual(reasonsOf(r, 'ferry_new'), ['grid 2x1h: bucket 1']);
    assert.deepEqual(reasonsOf(r, 'ferry_edge'), ['grid 2x1h: bucket 2']);
    // with one bucket only, the edge is older than the grid
    assert.deepEqual(destroyed(plan(snaps, [{ type: 'grid', grid: '1x1h' }])), ['ferry_edge']);
  });

  it('with a regex, only matching snapshots are placed (and anchor the grid); others are not kept by it', () => {
    const snaps = [snap('ferry_hourly_1', T0 - 3 * H), snap('ferry_hourly_2', T0 - 4 * H), snap('ferry_daily_1', T0)];
    const r = plan(snaps, [{ type: 'grid', grid: '2x1h(keep=all)', regex: '^ferry_hourly_' }]);
    // anchored at hourly_1 (3h ago), not at daily_1
    assert.deepEqual(kept(r), ['ferry_hourly_1', 'ferry_hourly_2']);
    assert.deepEqual(reasonsOf(r, 'ferry_hourly_2'), ['grid 2x1h(keep=all): bucket 2 of /^ferry_hourly_/']);
    assert.deepEqual(destroyed(r), ['ferry_daily_1']);
  });

  it('fitGrid jumps over empty buckets exactly as a bucket-by-bucket walk would (random histories)', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 300; round++) {
      const spec = ['1x1h(keep=all) | 24x1h | 14x1d', '5x1m(keep=2) | 1000x1m | 3x1w', '100x1s | 2x1h(keep=3)'][round % 3]!;
      const intervals = parseGridSpec(spec);
      const n = Math.floor(rand() * 60);
      const start = T0 - Math.floor(rand() * D);
      // sparse and dense stretches, with repeated times
      let t = start;
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        times.push(t);
        t -= rand() < 0.2 ? 0 : rand() < 0.5 ? Math.floor(rand() * 120_000) : Math.floor(rand() * 3 * D);
      }
      assert.deepEqual(fitGrid(intervals, times).map((s) => (s ? `${s.interval.text}#${s.bucket}` : '-')), naiveGrid(intervals, times), spec);
    }
  });
});

/** zrepl's retentiongrid.go as written: every bucket materialized, each time tested against each bucket. */
function naiveGrid(intervals: ReturnType<typeof parseGridSpec>, times: number[]): string[] {
  if (times.length === 0) return [];
  const buckets: { label: string; lower: number; upper: number; keep: number; members: number[] }[] = [];
  let upper = times[0]!;
  for (const iv of intervals) {
    for (let b = 1; b <= iv.repeat; b++) {
      buckets.push({ label: `${iv.text}#${b}`, lower: upper - iv.lengthMs, upper, keep: iv.keep, members: [] });
      upper -= iv.lengthMs;
    }
  }
  times.forEach((t, i) => buckets.find((b) => t <= b.upper && t > b.lower)?.members.push(i));
  const out = times.map(() => '-');
  for (const b of buckets) {
    const keep = b.keep === KEEP_ALL ? b.members : b.members.slice(Math.max(0, b.members.length - b.keep));
    for (const i of keep) out[i] = b.label;
  }
  return out;
}

describe('last_n, regex, not_replicated', () => {
  const snaps = [1, 2, 3, 4, 5].map((i) => snap(`ferry_${i}`, T0 - (6 - i) * H)); // ferry_5 newest

  it('last_n keeps the newest count', () => {
    const r = plan(snaps, [{ type: 'last_n', count: 2 }]);
    assert.deepEqual(kept(r), ['ferry_4', 'ferry_5']);
    assert.deepEqual(reasonsOf(r, 'ferry_5'), ['last_n 2']);
  });

  it('last_n with a regex: only matching snapshots count and are kept by it', () => {
    const mixed = [...snaps, snap('ferry_manual_x', T0), snap('ferry_manual_y', T0 - 30 * D)];
    const r = plan(mixed, [{ type: 'last_n', count: 1, regex: '_manual_' }]);
    assert.deepEqual(kept(r), ['ferry_manual_x']);
    assert.deepEqual(reasonsOf(r, 'ferry_manual_x'), ['last_n 1 of /_manual_/']);
    assert.equal(r.destroy.length, 6);
  });

  it('equal creation times: the name that sorts later counts as newer, whatever the input order', () => {
    const tied = ['ferry_b', 'ferry_a', 'ferry_c'].map((n) => snap(n, T0 - H));
    const forward = plan(tied, [{ type: 'last_n', count: 2 }]);
    const backward = plan([...tied].reverse(), [{ type: 'last_n', count: 2 }]);
    assert.deepEqual(kept(forward), ['ferry_b', 'ferry_c']);
    assert.deepEqual(forward, backward);
    // the grid keeps a bucket's oldest: the name that sorts first
    assert.deepEqual(kept(plan(tied, [{ type: 'grid', grid: '1x1h' }])), ['ferry_a']);
  });

  it('regex keeps matching names; with negate it keeps the others (prunes only matching)', () => {
    const names = [snap('ferry_keep_1', T0), snap('ferry_tmp_1', T0 - H), snap('ferry_tmp_2', T0 - 2 * H)];
    assert.deepEqual(kept(plan(names, [{ type: 'regex', regex: '_keep_' }])), ['ferry_keep_1']);
    const negated = plan(names, [{ type: 'regex', regex: '_tmp_', negate: true }]);
    assert.deepEqual(kept(negated), ['ferry_keep_1']);
    assert.deepEqual(reasonsOf(negated, 'ferry_keep_1'), ['regex not /_tmp_/']);
    assert.deepEqual(destroyed(negated), ['ferry_tmp_1', 'ferry_tmp_2']);
  });

  it('not_replicated keeps what is not on every receiver; without the set nothing counts as replicated', () => {
    const r = plan(snaps, [{ type: 'not_replicated' }], { replicatedToAll: new Set(['ferry_1', 'ferry_2', 'ferry_3']) });
    assert.deepEqual(kept(r), ['ferry_4', 'ferry_5']);
    assert.deepEqual(reasonsOf(r, 'ferry_4'), [REASON_NOT_REPLICATED]);
    assert.equal(plan(snaps, [{ type: 'not_replicated' }]).destroy.length, 0);
  });
});

describe('union, prefixes, protection', () => {
  it('a snapshot is kept when any rule keeps it, and lists every rule that does', () => {
    const snaps = Array.from({ length: 10 }, (_, i) => snap(`ferry_${i}`, T0 - i * H)); // ferry_0 newest
    const r = plan(snaps, [
      { type: 'last_n', count: 2 },
      { type: 'grid', grid: '1x1h(keep=all) | 3x3h' },
      { type: 'not_replicated' },
    ], { replicatedToAll: new Set(snaps.slice(1).map((s) => s.name)) });
    assert.deepEqual(reasonsOf(r, 'ferry_0'), ['last_n 2', 'grid 1x1h(keep=all): bucket 1', REASON_NOT_REPLICATED]);
    assert.deepEqual(reasonsOf(r, 'ferry_1'), ['last_n 2']);
    assert.deepEqual(reasonsOf(r, 'ferry_3'), ['grid 3x3h: bucket 1']);
    assert.deepEqual(kept(r), ['ferry_0', 'ferry_1', 'ferry_3', 'ferry_6', 'ferry_9']);
    // output is oldest first
    assert.deepEqual(r.keep.map((k) => k.name), ['ferry_9', 'ferry_6', 'ferry_3', 'ferry_1', 'ferry_0']);
    assert.deepEqual(r.destroy.map((d) => d.name), ['ferry_8', 'ferry_7', 'ferry_5', 'ferry_4', 'ferry_2']);
  });

  it('snapshots of other prefixes are left alone, and rules without a regex do not count them', () => {
    const snaps = [snap('ferry_1', T0 - 2 * H), snap('ferry_2', T0 - H), snap('manual_1', T0), snap('ferryx_1', T0), snap('other_ferry_1', T0 - D)];
    const r = plan(snaps, [{ type: 'last_n', count: 1 }]);
    assert.deepEqual(kept(r), ['ferry_2', 'ferryx_1', 'manual_1', 'other_ferry_1']);
    assert.deepEqual(reasonsOf(r, 'manual_1'), ['not made by ferry (no "ferry_" prefix) and no rule\'s regex names it']);
    assert.deepEqual(destroyed(r), ['ferry_1']);
  });

  it("a rule's regex that matches another prefix's snapshot makes it prunable like ferry's own", () => {
    const snaps = [snap('ferry_1', T0), snap('manual_1', T0 - H), snap('manual_2', T0 - 2 * H), snap('tmp_1', T0 - 3 * H)];
    const byLastN = plan(snaps, [{ type: 'last_n', count: 1, regex: '^manual_' }]);
    assert.deepEqual(destroyed(byLastN), ['ferry_1', 'manual_2']);
    assert.deepEqual(reasonsOf(byLastN, 'manual_1'), ['last_n 1 of /^manual_/']);
    // negate names what it matches: tmp_1 is destroyed, manual_* (not named) stay
    const byNegate = plan(snaps, [{ type: 'regex', regex: '^tmp_', negate: true }]);
    assert.deepEqual(destroyed(byNegate), ['tmp_1']);
    assert.deepEqual(reasonsOf(byNegate, 'manual_1'), ['not made by ferry (no "ferry_" prefix) and no rule\'s regex names it', 'regex not /^tmp_/']);
  });

  it('protected snapshots are never destroyed and say why', () => {
    const snaps = [snap('ferry_1', T0 - 3 * H), snap('ferry_2', T0 - 2 * H), snap('ferry_3', T0 - H)];
    const r = plan(snaps, [{ type: 'last_n', count: 1 }], { protected: new Map([['ferry_1', 'newest common version with dir:/r']]) });
    assert.deepEqual(reasonsOf(r, 'ferry_1'), ['protected: newest common version with dir:/r']);
    assert.deepEqual(destroyed(r), ['ferry_2']);
  });

  it('all protected: nothing destroyed', () => {
    const snaps = [snap('ferry_1', T0 - 3 * H), snap('ferry_2', T0 - 2 * H)];
    const r = plan(snaps, [{ type: 'regex', regex: 'nothing-matches' }], { protected: new Map(snaps.map((s) => [s.name, 'step in flight'])) });
    assert.deepEqual(r.destroy, []);
    assert.equal(r.keep.length, 2);
  });

  it('edge cases: no snapshots; no rules destroys nothing (as zrepl)', () => {
    assert.deepEqual(plan([], [{ type: 'last_n', count: 1 }]), { destroy: [], keep: [] });
    const r = plan([snap('ferry_1', T0)], []);
    assert.deepEqual(r, { destroy: [], keep: [{ name: 'ferry_1', reasons: [REASON_NO_RULES] }] });
  });

  it('snapshots created after now are kept, take no last_n slot and do not anchor the grid', () => {
    const snaps = [snap('ferry_future', T0 + 365 * D), snap('ferry_1', T0 - H), snap('ferry_2', T0 - 2 * H)];
    const r = plan(snaps, [{ type: 'last_n', count: 1 }, { type: 'grid', grid: '1x1h' }]);
    assert.deepEqual(reasonsOf(r, 'ferry_future'), [REASON_FUTURE]);
    assert.deepEqual(reasonsOf(r, 'ferry_1'), ['last_n 1', 'grid 1x1h: bucket 1']);
    assert.deepEqual(destroyed(r), ['ferry_2']);
  });

  it('with no prefix, only snapshots a rule\'s regex names are pruned', () => {
    const snaps = [snap('a_1', T0), snap('a_2', T0 - H), snap('b_1', T0 - 2 * H)];
    const r = plan(snaps, [{ type: 'last_n', count: 1 }, { type: 'last_n', count: 1, regex: '^a_' }], { prefix: '' });
    assert.deepEqual(destroyed(r), ['a_2']);
    assert.deepEqual(reasonsOf(r, 'a_1'), ['last_n 1 of /^a_/']);
    assert.deepEqual(reasonsOf(r, 'b_1'), ["no snapshot prefix and no rule's regex names it"]);
  });

  it('refuses a duplicate name or a bad creation time, naming the field', () => {
    expectInvalid(() => plan([snap('ferry_1', T0), snap('ferry_1', T0 - H)], []), 'snapshots[1].name', /listed twice/);
    expectInvalid(() => plan([snap('ferry_1', Number.NaN)], []), 'snapshots[0].createdAt');
    expectInvalid(() => plan([], [{ type: 'grid', grid: '1x1q' }]), 'rules[0].grid');
    expectInvalid(() => plan([], [], { now: Number.NaN }), 'now');
  });
});

describe('parseKeepRules', () => {
  it('accepts the four rule types and normalizes them', () => {
    const rules = parseKeepRules([
      { type: 'not_replicated' },
      { type: 'last_n', count: 5 },
      { type: 'grid', grid: '1x1h(keep=all) | 24x1h | 14x1d', regex: '^ferry_' },
      { type: 'regex', regex: '^manual_', negate: false },
    ], 'retention.sender');
    assert.deepEqual(rules, [
      { type: 'not_replicated' },
      { type: 'last_n', count: 5 },
      { type: 'grid', grid: '1x1h(keep=all) | 24x1h | 14x1d', regex: '^ferry_' },
      { type: 'regex', regex: '^manual_' },
    ]);
  });

  it('grid syntax: units s m h d w, spaces, keep=N and keep=all', () => {
    assert.deepEqual(parseGridSpec(' 2 x 30s | 1x5m(keep=all)|3x1h( keep=4 ) | 1x2d | 1x1w').map((i) => [i.text, i.repeat, i.lengthMs, i.keep]), [
      ['2x30s', 2, 30_000, 1], ['1x5m(keep=all)', 1, 5 * MIN, KEEP_ALL], ['3x1h(keep=4)', 3, H, 4], ['1x2d', 1, 2 * D, 1], ['1x1w', 1, 7 * D, 1],
    ]);
  });

  it('names the field path and the interval in grid errors', () => {
    const at = (grid: string) => () => parseKeepRules([{ type: 'last_n', count: 1 }, { type: 'grid', grid }], 'retention.sender');
    expectInvalid(at('1x1h | 24x1q'), 'retention.sender[1].grid', /^retention\.sender\[1\]\.grid: interval 2 "24x1q": unknown unit "q"/);
    expectInvalid(at('1x1h | 24h'), 'retention.sender[1].grid', /interval 2 "24h": use REPEATxDURATION/);
    expectInvalid(at('0x1h'), 'retention.sender[1].grid', /interval 1 "0x1h": the repeat count must be positive/);
    expectInvalid(at('1x0h'), 'retention.sender[1].grid', /duration must be positive/);
    expectInvalid(at('1x1'), 'retention.sender[1].grid', /missing unit/);
    expectInvalid(at('1x1h(keep=0)'), 'retention.sender[1].grid', /keep=0: use a positive whole number or all/);
    expectInvalid(at('1x1h(keep=-1)'), 'retention.sender[1].grid', /keep=-1/);
    expectInvalid(at('1x1h(kept=1)'), 'retention.sender[1].grid', /unknown parameter/);
    expectInvalid(at('1x1h |'), 'retention.sender[1].grid', /interval 2 ""/);
    expectInvalid(at(''), 'retention.sender[1].grid', /must be a grid like/);
    // zrepl: bucket lengths must not shrink, unless every bucket before keeps all
    expectInvalid(at('1x1d | 1x1h'), 'retention.sender[1].grid', /interval 2 "1x1h": bucket lengths must not shrink/);
    assert.equal(parseKeepRules([{ type: 'grid', grid: '1x1d(keep=all) | 24x1h' }], 'r').length, 1);
  });

  it('checks every other field, naming its path', () => {
    expectInvalid(() => parseKeepRules({}, 'retention.receivers'), 'retention.receivers', /must be a list/);
    expectInvalid(() => parseKeepRules(['last_n'], 'r'), 'r[0]', /keep rule object/);
    expectInvalid(() => parseKeepRules([{ type: 'keep_all' }], 'r'), 'r[0].type', /"keep_all": use one of not_replicated, last_n, grid, regex/);
    expectInvalid(() => parseKeepRules([{ type: 'last_n', count: 0 }], 'r'), 'r[0].count', /positive whole number/);
    expectInvalid(() => parseKeepRules([{ type: 'last_n', count: 2.5 }], 'r'), 'r[0].count');
    expectInvalid(() => parseKeepRules([{ type: 'last_n', count: '5' }], 'r'), 'r[0].count');
    expectInvalid(() => parseKeepRules([{ type: 'last_n', count: 5, regex: '(' }], 'r'), 'r[0].regex', /not a valid regular expression/);
    expectInvalid(() => parseKeepRules([{ type: 'regex' }], 'r'), 'r[0].regex', /required/);
    expectInvalid(() => parseKeepRules([{ type: 'regex', regex: '' }], 'r'), 'r[0].regex', /must not be empty/);
    expectInvalid(() => parseKeepRules([{ type: 'regex', regex: 'a', negate: 'yes' }], 'r'), 'r[0].negate');
    expectInvalid(() => parseKeepRules([{ type: 'last_n', count: 1, keep: 2 }], 'r'), 'r[0].keep', /unknown field for a last_n rule/);
    expectInvalid(() => parseKeepRules([{ type: 'not_replicated', regex: 'x' }], 'r'), 'r[0].regex', /unknown field/);
  });

  it('parseRetentionPolicy: both sides, absent lists empty, not_replicated only for the sender', () => {
    assert.deepEqual(parseRetentionPolicy({ sender: [{ type: 'not_replicated' }] }, 'retention'), { sender: [{ type: 'not_replicated' }], receivers: [] });
    expectInvalid(() => parseRetentionPolicy({ receivers: [{ type: 'last_n', count: 1 }, { type: 'not_replicated' }] }, 'retention'), 'retention.receivers[1].type', /sender only/);
    expectInvalid(() => parseRetentionPolicy({ senders: [] }, 'retention'), 'retention.senders', /unknown field/);
    expectInvalid(() => parseRetentionPolicy([], 'retention'), 'retention');
  });
});
