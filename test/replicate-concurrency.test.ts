// `ferry replicate --concurrency N`: N filesystems replicate at once only if the process's workers
// have N effect slots (each filesystem's step is one effect); the workers' default is 8.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Version } from '../machines/version.js';
import { DEFAULT_EFFECT_CONCURRENCY } from '../src/engine/types.js';
import { planReplication } from '../src/replication/planner.js';
import { effectConcurrencyFor } from '../src/replication/runs.js';
import type { StorageDriver } from '../src/storage/driver.js';

/** A driver whose listings answer only when the test says so, counting those in flight. */
function slowDriver(endpoint: string, versions: Version[], names: string[]) {
  let inFlight = 0;
  let most = 0;
  const waiting: Array<() => void> = [];
  const refuse = async (): Promise<never> => {
    throw new Error('lists only');
  };
  const driver: StorageDriver = {
    kind: 'dir', endpoint, capabilities: { batch: false, resumable: false, atomicSnapshots: false },
    listFilesystems: async () => names,
    listVersions: (fs) => new Promise((resolve) => {
      inFlight++;
      most = Math.max(most, inFlight);
      waiting.push(() => {
        inFlight--;
        resolve(fs === names[0] ? versions.slice(0, 1) : versions);
      });
    }),
    snapshot: refuse, destroySnapshot: refuse, send: refuse, receive: refuse,
  };
  return { driver, most: () => most, answerNewest: () => waiting.pop()?.(), waiting: () => waiting.length };
}

describe('replicate concurrency', () => {
  it('gives the workers a slot per filesystem replicating at once, never fewer than their default', () => {
    assert.equal(DEFAULT_EFFECT_CONCURRENCY, 8);
    assert.equal(effectConcurrencyFor(1), 8);
    assert.equal(effectConcurrencyFor(4), 8);
    assert.equal(effectConcurrencyFor(40), 40);
  });

  it('planning reads a few filesystems at once and keeps their order', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `fs${i}`);
    const versions: Version[] = [{ name: 's1', guid: 'g1', createtxg: 1 }, { name: 's2', guid: 'g2', createtxg: 2 }];
    const sender = slowDriver('dir:/s', versions, names);
    const receiver = slowDriver('dir:/r', versions.slice(0, 1), names);
    const planning = planReplication({ sender: sender.driver, receiver: receiver.driver });
    let done = false;
    void planning.finally(() => (done = true));
    // answer the newest listings first: later filesystems finish before earlier ones
    while (!done) {
      await new Promise((r) => setImmediate(r));
      sender.answerNewest();
      receiver.answerNewest();
    }
    const plan = await planning;
    assert.deepEqual(plan.filesystems.map((f) => f.name), names);
    assert.deepEqual(plan.filesystems.map((f) => f.steps.length), names.map((n) => (n === 'fs0' ? 0 : 1)));
    assert.equal(sender.most(), 4, 'four filesystems listed at once');
  });
});
