// `ferry replicate --concurrency N`: N filesystems replicate at once only if the process's workers
// have N effect slots (each filesystem's step is one effect); the workers' default is 8.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_EFFECT_CONCURRENCY } from '../src/engine/types.js';
import { effectConcurrencyFor } from '../src/replication/runs.js';

describe('replicate concurrency', () => {
  it('gives the workers a slot per filesystem replicating at once, never fewer than their default', () => {
    assert.equal(DEFAULT_EFFECT_CONCURRENCY, 8);
    assert.equal(effectConcurrencyFor(1), 8);
    assert.equal(effectConcurrencyFor(4), 8);
    assert.equal(effectConcurrencyFor(40), 40);
  });
});
