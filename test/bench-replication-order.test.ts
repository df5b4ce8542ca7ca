import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pairedRatios, roundOrder } from '../bench/replication.bench.js';

/**
 * The replication bench's order of runs (bench/README.md, "Rounds"): position in a round changes a
 * run's time (the run after another meets its write-back), so no kind may keep one place.
 */
describe('replication bench: the order of the runs in a round', () => {
  it('with the run along ferry\'s path, six rounds put every run in every place twice and each ahead of each other three times', () => {
    const rounds = Array.from({ length: 6 }, (_, r) => roundOrder(r, false, true));
    for (const order of rounds) assert.deepEqual([...order].sort(), ['ferry', 'pathPipe', 'pipe']);
    for (const kind of ['pipe', 'pathPipe', 'ferry'] as const) {
      for (let place = 0; place < 3; place++) assert.equal(rounds.filter((o) => o[place] === kind).length, 2, `${kind} in place ${place + 1}`);
    }
    for (const [a, b] of [['pipe', 'ferry'], ['pipe', 'pathPipe'], ['ferry', 'pathPipe']] as const) {
      assert.equal(rounds.filter((o) => o.indexOf(a) < o.indexOf(b)).length, 3, `${a} ahead of ${b}`);
    }
  });

  it('the plain pipe and ferry take turns going ahead, and the first four rounds put each of them first once', () => {
    for (const path of [false, true]) {
      const rounds = Array.from({ length: 6 }, (_, r) => roundOrder(r, false, path));
      rounds.forEach((o, r) => assert.equal(o.indexOf('pipe') < o.indexOf('ferry'), r % 2 === 0, `round ${r + 1}: ${o.join(', ')}`));
      const firsts = rounds.slice(0, 4).map((o) => o[0]);
      assert.equal(firsts.filter((k) => k === 'pipe').length, firsts.filter((k) => k === 'ferry').length, firsts.join(', '));
    }
  });

  it('the node pipe, when asked for, follows the plain pipe; without the references a round is the pipe and ferry', () => {
    assert.deepEqual(roundOrder(0, false, false), ['pipe', 'ferry']);
    assert.deepEqual(roundOrder(1, false, false), ['ferry', 'pipe']);
    assert.deepEqual(roundOrder(1, true, true), ['ferry', 'pathPipe', 'pipe', 'nodePipe']);
  });

  it('pairs a round with the next (geometric mean) and drops a round without a partner', () => {
    assert.deepEqual(pairedRatios([0.81, 1.0, 0.64, 1.0, 0.9]), [0.9, 0.8]);
  });
});
