// The dir driver's lock (src/storage/dir/lock.ts) with real processes contending: never two
// holders at once, and a holder that dies is taken over once its lease has run out, by one process.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { acquireLease } from '../src/storage/dir/lock.js';
import { describeHolder } from '../src/storage/dir/holder.js';
import { tempBase } from './helpers/files.js';

const LEASE_MS = 1500;
const STRACE = '/usr/bin/strace';

function contender(dir: string, journal: string, id: string, rounds: number, die = false, leaseMs = LEASE_MS): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lock-contender.ts', dir, journal, id, String(rounds), String(leaseMs), ...(die ? ['die'] : [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
}

/** Replays the journal: every "begin" must find the lock free (or held by a process that died holding it). */
function assertNoOverlap(lines: string[]): void {
  let holder: string | null = null;
  for (const [i, line] of lines.entries()) {
    const [what, id, dies] = line.split(' ');
    if (what === 'begin') {
      assert.equal(holder, null, `line ${i + 1}: ${id} took the lock while ${holder} held it`);
      holder = dies ? null : id; // a dead holder's lock is free again once its lease ran out
    } else {
      assert.equal(holder, id, `line ${i + 1}: ${id} released a lock it did not hold`);
      holder = null;
    }
  }
  assert.equal(holder, null);
}

describe('dir lock', () => {
  it('never has two holders among many processes, and dead holders are taken over by one process', async (t) => {
    const base = await tempBase(t);
    const dir = join(base, 'locks', 'data');
    const journal = join(base, 'journal');
    // Five holders die holding the lock, so the others race to take over each of their stale locks.
    const runs = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => contender(dir, journal, `p${i}`, 15)),
      ...Array.from({ length: 5 }, (_, i) => contender(dir, journal, `dead${i}`, 1, true)),
    ]);
    for (const [i, run] of runs.entries()) {
      if (i < 6) assert.equal(run.code, 0, run.stderr);
      else assert.equal(run.signal, 'SIGKILL', run.stderr);
    }
    const lines = (await readFile(journal, 'utf8')).trim().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('end')).length, 6 * 15);
    assert.equal(lines.filter((l) => l.endsWith('dies')).length, 5);
    assertNoOverlap(lines);
  });

  it('is busy while a holder renews it, and free once it is released', async (t) => {
    const dir = join(await tempBase(t), 'lock');
    const held = await acquireLease(dir, 'the lock', { leaseMs: 200 });
    // several leases go by: the holder renews it, so nobody may take it
    for (let i = 0; i < 5; i++) {
      await assert.rejects(acquireLease(dir, 'the lock', { leaseMs: 200 }), (err: Error & { code?: string }) => err.code === 'BUSY' && /the lock is busy/.test(err.message));
      await new Promise((r) => setTimeout(r, 100));
    }
    await held.assertHeld();
    await held.release();
    const next = await acquireLease(dir, 'the lock', { leaseMs: 200 });
    await next.release();
  });

  it('a generation appears with its holder in it: a taker killed as it takes the lock never leaves one whose death nobody can prove', async (t) => {
    if (!existsSync(STRACE)) {
      if (process.env.CI === 'true') assert.fail(`${STRACE} is missing: install strace (scripts/setup.sh --test)`);
      t.skip('no strace');
      return;
    }
    const base = await tempBase(t);
    const dir = join(base, 'lock');
    const generation = join(dir, '1');
    // every syscall of the taker naming the first generation: it must be made by link(2) from a
    // written file, never created empty (open O_CREAT) and written after, which a SIGKILL can split
    const trace = join(base, 'trace');
    const traced = spawnSync(STRACE, ['-f', '-qq', '-o', trace, '-P', generation, process.execPath, '--import', 'tsx', 'test/helpers/lock-contender.ts', dir, join(base, 'journal'), 'traced', '1', '3600000'], { encoding: 'utf8' });
    assert.equal(traced.status, 0, traced.stderr);
    const calls = (await readFile(trace, 'utf8')).split('\n').filter((l) => l.includes(generation));
    assert.ok(calls.some((l) => /\blink(at)?\(/.test(l)), calls.join('\n'));
    assert.deepEqual(calls.filter((l) => /\bopen(at)?\(.*O_CREAT/.test(l)), [], 'the generation is never created empty');

    // killed at that link: no generation, the lock is free at once (a lease of an hour), and the
    // description it wrote aside goes with the next generation's holder
    const killed = spawnSync(STRACE, ['-f', '-qq', '-o', '/dev/null', '-P', join(base, 'lock2', '1'), '-e', 'inject=all:signal=SIGKILL:when=1', process.execPath, '--import', 'tsx', 'test/helpers/lock-contender.ts', join(base, 'lock2'), join(base, 'journal2'), 'killed', '1', '3600000'], { encoding: 'utf8' });
    assert.notEqual(killed.status, 0, 'the taker was killed');
    for (let i = 0; i < 2; i++) {
      const lease = await acquireLease(join(base, 'lock2'), 'the lock', { leaseMs: 3_600_000 });
      await lease.release();
    }
    assert.deepEqual((await readdir(join(base, 'lock2'))).filter((n) => n.endsWith('.aside')), []);
  });

  it('takes over at once from a holder that provably died in this PID namespace', async (t) => {
    const base = await tempBase(t);
    const dir = join(base, 'lock');
    // a lease of an hour: only the proof of death can free it within this test
    const dead = await contender(dir, join(base, 'journal'), 'dead', 1, true, 3_600_000);
    assert.equal(dead.signal, 'SIGKILL', dead.stderr);
    const lease = await acquireLease(dir, 'the lock', { leaseMs: 3_600_000 });
    await lease.release();
  });

  it('waits out the lease of a holder whose death it cannot prove (another PID namespace, another boot)', async (t) => {
    const me = await describeHolder('t', new Date());
    const gone = 2 ** 22 + 17; // above any pid_max here: no such process
    for (const [why, holder] of [
      ['another PID namespace', { ...me, pid: gone, pidNs: 'pid:[1]' }],
      ['another boot', { ...me, pid: gone, bootId: '00000000-0000-0000-0000-000000000000' }],
      ['unknown', { host: 'elsewhere', pid: gone, token: 't', at: me.at }],
    ] as const) {
      const dir = join(await tempBase(t), 'lock');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, '1'), JSON.stringify(holder));
      await assert.rejects(acquireLease(dir, 'the lock', { leaseMs: 3_600_000 }), (err: Error & { code?: string }) => err.code === 'BUSY', why);
    }
  });

  it('tells a reused PID from its holder by the start time', async (t) => {
    const dir = join(await tempBase(t), 'lock');
    await mkdir(dir, { recursive: true });
    // our parent is alive, but was not started at the holder's recorded time
    const me = await describeHolder('t', new Date());
    await writeFile(join(dir, '1'), JSON.stringify({ ...me, pid: process.ppid, startTicks: '1' }));
    const lease = await acquireLease(dir, 'the lock', { leaseMs: 3_600_000 });
    await lease.release();
    // the same PID with its real start time is a live holder
    const live = join(await tempBase(t), 'lock');
    await mkdir(live, { recursive: true });
    await writeFile(join(live, '1'), JSON.stringify(me));
    await assert.rejects(acquireLease(live, 'the lock', { leaseMs: 3_600_000 }), (err: Error & { code?: string }) => err.code === 'BUSY');
  });
});
