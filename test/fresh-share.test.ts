// FreshShare: callers share a read only when it began after their mark.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FreshShare } from '../src/util/fresh-share.js';

/** a read whose answer is the number of reads begun so far; each waits until released */
function reads() {
  let begun = 0;
  const waiting: Array<() => void> = [];
  return {
    read: () => {
      const n = ++begun;
      return new Promise<number>((resolve) => waiting.push(() => resolve(n)));
    },
    begun: () => begun,
    releaseAll: () => waiting.splice(0).forEach((r) => r()),
  };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('FreshShare', () => {
  it('callers asking in the same moment share one read', async () => {
    const share = new FreshShare<number>();
    const r = reads();
    const all = [1, 2, 3, 4].map(() => share.get('k', share.mark(), r.read));
    await turn();
    assert.equal(r.begun(), 1);
    r.releaseAll();
    assert.deepEqual(await Promise.all(all), [1, 1, 1, 1]);
    assert.equal(share.inFlight('k'), 0);
  });

  it('a mark taken after a read began waits for the next read, which every later caller shares; one taken before joins the running read', async () => {
    const share = new FreshShare<number>();
    const r = reads();
    const early = share.mark();
    const first = share.get('k', share.mark(), r.read);
    await turn(); // the first read has begun
    const joined = share.get('k', early, r.read);
    const late = [share.get('k', share.mark(), r.read), share.get('k', share.mark(), r.read)];
    await turn();
    assert.equal(r.begun(), 1, 'one read at a time');
    assert.equal(share.inFlight('k'), 2, 'one running, one waiting');
    r.releaseAll();
    assert.equal(await first, 1);
    assert.equal(await joined, 1, 'a mark from before the read began may share it');
    await turn();
    assert.equal(r.begun(), 2, 'the next read began once the first ended');
    const later = share.get('k', share.mark(), r.read); // after the second began: a third, waiting
    r.releaseAll();
    assert.deepEqual(await Promise.all(late), [2, 2]);
    await turn();
    r.releaseAll();
    assert.equal(await later, 3);
    assert.equal(share.inFlight('k'), 0);
  });

  it('keys do not share; a failure reaches every sharer; an abort ends one wait only', async () => {
    const share = new FreshShare<number>();
    const r = reads();
    const a = share.get('a', share.mark(), r.read);
    const b = share.get('b', share.mark(), r.read);
    await turn();
    assert.equal(r.begun(), 2);
    r.releaseAll();
    assert.deepEqual([await a, await b], [1, 2]);

    const boom = () => Promise.reject(new Error('listing failed'));
    const f1 = share.get('a', share.mark(), boom);
    const f2 = share.get('a', share.mark(), boom);
    await assert.rejects(f1, /listing failed/);
    await assert.rejects(f2, /listing failed/);

    const ac = new AbortController();
    const stays = share.get('a', share.mark(), r.read);
    const leaves = share.get('a', share.mark(), r.read, ac.signal);
    ac.abort(new Error('step aborted'));
    await assert.rejects(leaves, /step aborted/);
    await turn();
    r.releaseAll();
    assert.equal(await stays, 3);
    assert.equal(share.inFlight('a'), 0);
  });

  it('recent(): the last read while young enough, shared while it runs; forget() and age end it', async () => {
    const share = new FreshShare<number>(1000);
    const r = reads();
    const a = share.recent('k', 200, r.read);
    const b = share.recent('k', 200, r.read);
    await turn();
    assert.equal(r.begun(), 1, 'callers at the same moment share one read');
    r.releaseAll();
    assert.deepEqual([await a, await b], [1, 1]);
    assert.equal(await share.recent('k', 200, r.read), 1, 'the ended read answers while young');
    assert.equal(r.begun(), 1);
    share.forget('k');
    const c = share.recent('k', 200, r.read);
    await turn();
    r.releaseAll();
    assert.equal(await c, 2, 'forgotten: read again');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const d = share.recent('k', 200, r.read);
    await turn();
    r.releaseAll();
    assert.equal(await d, 3, 'too old: read again');

    // forgotten while a read runs: that read began before the change, recent() does not take it
    share.forget('k');
    const e = share.recent('k', 60_000, r.read);
    await turn();
    share.forget('k');
    const f = share.recent('k', 60_000, r.read);
    r.releaseAll();
    assert.equal(await e, 4);
    await turn();
    r.releaseAll();
    assert.equal(await f, 5, 'a read begun after the forget');
    assert.equal(await share.recent('k', 60_000, r.read), 5, 'and that one is reused');
  });
});
