import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { appendEntry, commit, createPartition } from '../src/archiver/log-source/index.js';
import { defaultConsumer } from '../src/archiver/archive-target.js';
import { runProcess, type ProcessResult } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

/**
 * `ferry archive` as an operator runs it, one child process per command: a partition's archiver
 * is bound to its log root, sink and consumer; each consumer has its own position in the log.
 */

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** the LSNs archived in a file sink for storage `main`, partition `p` */
function archived(sinkDir: string, p: string): number[] {
  const d = join(sinkDir, 'main', p);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => /^\d{20}\.tar$/.test(f)).map((f) => Number(f.slice(0, 20))).sort((a, b) => a - b);
}

/** the LSNs the log source still holds (not pruned) */
function held(log: string, p: string): number[] {
  return readdirSync(join(log, 'main', p, 'entries')).filter((f) => /^\d{20}$/.test(f)).map(Number).sort((a, b) => a - b);
}

function position(log: string, p: string, consumer: string): number {
  return Number(readFileSync(join(log, 'main', p, 'positions', consumer), 'utf8'));
}

async function commitEntries(log: string, p: string, from: number, to: number): Promise<void> {
  for (let lsn = from; lsn <= to; lsn++) await appendEntry(log, 'main', p, lsn, Buffer.from(`${p} entry ${lsn}\n`));
  await commit(log, 'main', p, to);
}

describe('ferry archive: sinks and consumers', () => {
  let redis: EmbeddedRedis;
  let n = 0;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  /** a ferry command against the test redis, on a key prefix of its own per test */
  function ferryIn(prefix: string) {
    return (args: string[]): Promise<ProcessResult> => runProcess(process.execPath, ['bin/ferry.mjs', '--key-prefix', prefix, ...args], {
      env: { FERRY_LOG_LEVEL: 'warn', REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state' },
    });
  }

  async function archiveOnce(ferry: ReturnType<typeof ferryIn>, log: string, sinkDir: string, consumer?: string): Promise<{ consumer: string; archived: number; present: number; orphansRemoved: number; failed: unknown[] }> {
    const r = await ferry(['archive', '--log', log, '--sink', `file://${sinkDir}`, ...(consumer ? ['--consumer', consumer] : []), '--once', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return lastJson(r.stdout);
  }

  it('a second --sink gets everything the log still holds, and the first sink is left as it was', async () => {
    const d = tempDir('arc-switch');
    const ferry = ferryIn(`arcsw${process.pid}x${++n}`);
    try {
      const log = join(d.path, 'log');
      const [A, B] = [join(d.path, 'A'), join(d.path, 'B')];
      await commitEntries(log, 'p1', 1, 3);
      await archiveOnce(ferry, log, A);
      assert.deepEqual(archived(A, 'p1'), [1, 2, 3]);
      assert.deepEqual(held(log, 'p1'), [3], 'A\'s consumer is the only one: pruned below its position');

      await commitEntries(log, 'p1', 4, 4);
      const toB = await archiveOnce(ferry, log, B);
      assert.deepEqual(archived(B, 'p1'), [3, 4], 'B gets every entry the log still holds');
      assert.equal(toB.archived, 2);
      assert.deepEqual(archived(A, 'p1'), [1, 2, 3], 'the run into B put nothing into A');
      assert.equal(toB.consumer, defaultConsumer(`file://${B}`));

      await archiveOnce(ferry, log, A);
      assert.deepEqual(archived(A, 'p1'), [1, 2, 3, 4]);
      // one position per sink, each at the committed LSN
      assert.deepEqual(readdirSync(join(log, 'main', 'p1', 'positions')).sort(), [defaultConsumer(`file://${A}`), defaultConsumer(`file://${B}`)].sort());
      assert.equal(position(log, 'p1', defaultConsumer(`file://${A}`)), 4);
      assert.equal(position(log, 'p1', defaultConsumer(`file://${B}`)), 4);

      // `archive status` tells the two archivers of the partition apart
      const status = lastJson((await ferry(['archive', 'status', '--json'])).stdout);
      assert.deepEqual(status.partitions.map((s: { sink: string; nextLsn: number }) => [s.sink, s.nextLsn]).sort(), [[`file://${A}`, 5], [`file://${B}`, 5]]);
    } finally {
      d.remove();
    }
  });

  it('two sinks on one log each get every entry; pruning waits for the slowest consumer; switching a consumer\'s sink gets everything the log holds', async () => {
    const d = tempDir('arc-two');
    const ferry = ferryIn(`arctwo${process.pid}x${++n}`);
    try {
      const log = join(d.path, 'log');
      const [A, B, C] = [join(d.path, 'A'), join(d.path, 'B'), join(d.path, 'C')];
      await createPartition(log, 'main', 'p2');
      // both archivers start before the first entry: each registers its consumer at 0
      await archiveOnce(ferry, log, A, 'east');
      await archiveOnce(ferry, log, B, 'west');
      assert.deepEqual([position(log, 'p2', 'east'), position(log, 'p2', 'west')], [0, 0]);

      await commitEntries(log, 'p2', 1, 3);
      await archiveOnce(ferry, log, A, 'east');
      await commitEntries(log, 'p2', 4, 5);
      await archiveOnce(ferry, log, A, 'east');
      assert.deepEqual(archived(A, 'p2'), range(1, 5));
      assert.deepEqual([position(log, 'p2', 'east'), position(log, 'p2', 'west')], [5, 0]);
      assert.deepEqual(held(log, 'p2'), range(1, 5), 'west has archived nothing yet: nothing is pruned');

      // east moves to sink C: its position says 5, but C has nothing: C gets all the log holds
      const toC = await archiveOnce(ferry, log, C, 'east');
      assert.deepEqual(archived(C, 'p2'), range(1, 5));
      assert.equal(toC.archived, 5);

      const toB = await archiveOnce(ferry, log, B, 'west');
      assert.deepEqual(archived(B, 'p2'), range(1, 5));
      assert.equal(toB.archived, 5);
      assert.deepEqual(held(log, 'p2'), [5], 'both consumers at 5: pruned below it');
      assert.deepEqual(readdirSync(join(log, 'main', 'p2', 'positions')).sort(), ['east', 'west']);

      // a third consumer into a sink that has everything: the entries count as present, its own position moves
      const again = await archiveOnce(ferry, log, B, 'audit');
      assert.deepEqual([again.archived, again.present], [0, 1], 'only what the log still holds is read');
      assert.equal(position(log, 'p2', 'audit'), 5);
      for (const sink of [A, B, C]) assert.deepEqual(archived(sink, 'p2'), range(1, 5), `every committed entry in ${sink}`);
    } finally {
      d.remove();
    }
  });

  it('a bad --consumer is refused before anything starts, naming the flag', async () => {
    const d = tempDir('arc-badname');
    const ferry = ferryIn(`arcbad${process.pid}x${++n}`);
    try {
      const log = join(d.path, 'log');
      await commitEntries(log, 'p3', 1, 1);
      for (const bad of ['../x', 'a.b', 'x'.repeat(201), '']) {
        const r = await ferry(['archive', '--log', log, '--sink', `file://${d.path}/S`, '--consumer', bad, '--once']);
        assert.equal(r.code, 2, `${JSON.stringify(bad)}: ${r.stderr}`);
        assert.match(r.stderr, /--consumer/);
      }
      assert.ok(!existsSync(join(log, 'main', 'p3', 'positions')), 'nobody was registered');
      assert.ok(!existsSync(join(d.path, 'S')));
    } finally {
      d.remove();
    }
  });

  it('temp files of puts killed mid-write are removed when the archiver starts; recent ones are left', async () => {
    const d = tempDir('arc-orphans');
    const ferry = ferryIn(`arcorph${process.pid}x${++n}`);
    try {
      const log = join(d.path, 'log');
      const S = join(d.path, 'S');
      await commitEntries(log, 'p4', 1, 2);
      mkdirSync(join(S, 'main', 'p4'), { recursive: true });
      const old = join(S, 'main', 'p4', '.00000000000000000001.tar.tmp-0a1b2c3d4e5f');
      const oldSide = join(S, 'main', 'p4', '.00000000000000000001.tar.sha256.tmp-abcdef012345');
      const recent = join(S, 'main', 'p4', '.00000000000000000009.tar.tmp-00112233aabb');
      const notOurs = join(S, 'main', 'p4', '.keep');
      for (const f of [old, oldSide, recent, notOurs]) writeFileSync(f, 'partial');
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      for (const f of [old, oldSide, notOurs]) utimesSync(f, twoHoursAgo, twoHoursAgo);
      const sum = await archiveOnce(ferry, log, S);
      assert.equal(sum.orphansRemoved, 2);
      assert.ok(!existsSync(old) && !existsSync(oldSide), 'the old temp files are gone');
      assert.ok(existsSync(recent), 'a recent temp file may belong to a live put: left');
      assert.ok(existsSync(notOurs), 'only the sink\'s own temp names are removed');
      assert.deepEqual(archived(S, 'p4'), [1, 2]);
    } finally {
      d.remove();
    }
  });
});
