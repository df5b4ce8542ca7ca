import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { findRelay, startRelay } from '../src/storage/local-pipe.js';

/**
 * The local fast path's relay (src/storage/local-pipe.ts) between `send` and `receive`: pv when
 * installed (it splices), else dd, and either way the exact number of bytes that passed.
 */

const BYTES = 3_000_017;

/** `head -c n /dev/urandom` through the relay into this process; what the relay counted and what arrived. */
async function relayed(n: number): Promise<{ tool: string; counted: number; arrived: number }> {
  const source = spawn('head', ['-c', String(n), '/dev/urandom'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const relay = startRelay(source.stdout);
  let arrived = 0;
  relay.stdout.on('data', (chunk: Buffer) => { arrived += chunk.length; });
  const ended = new Promise((resolve) => relay.stdout.once('end', resolve));
  const counted = await relay.done;
  await ended;
  return { tool: relay.child.spawnargs.join(' '), counted, arrived };
}

describe('local pipe relay', () => {
  const saved = process.env.FERRY_RELAY;
  after(() => {
    if (saved === undefined) delete process.env.FERRY_RELAY;
    else process.env.FERRY_RELAY = saved;
  });

  it('pv (installed by the test set-up) counts exactly the bytes it passed on', async (t) => {
    delete process.env.FERRY_RELAY;
    const tool = findRelay();
    if (!tool?.path.endsWith('/pv')) {
      if (process.env.CI === 'true') assert.fail('pv is not installed (scripts/setup.sh --test installs it)');
      t.skip('pv not installed');
      return;
    }
    const r = await relayed(BYTES);
    assert.match(r.tool, /\bpv -n -b\b/);
    assert.equal(r.arrived, BYTES);
    assert.equal(r.counted, BYTES);
  });

  it('dd (FERRY_RELAY=dd, or where pv is missing) counts exactly too', async () => {
    process.env.FERRY_RELAY = 'dd';
    const r = await relayed(BYTES);
    assert.match(r.tool, /\bdd bs=1M status=progress\b/);
    assert.equal(r.arrived, BYTES);
    assert.equal(r.counted, BYTES);
  });

  it('an empty stream is 0 bytes, not a failure', async () => {
    delete process.env.FERRY_RELAY;
    const r = await relayed(0);
    assert.equal(r.arrived, 0);
    assert.equal(r.counted, 0);
  });
});
