import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHIVE_BATCH } from '../machines/index.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { entryKey } from '../src/archiver/contracts.js';
import { appendEntry, commit } from '../src/archiver/log-source/index.js';
import { openSink } from '../src/archiver/sinks/index.js';
import { defaultConsumer } from '../src/archiver/archive-target.js';
import { archiveOnce, archiverEngine } from './helpers/archiver.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

// The archiver works in batches: one effect (one machine step, one acknowledgement) per up to
// ARCHIVE_BATCH entries. Counted in jobs and positions, never timed.

async function writeEntries(root: string, storage: string, partition: string, n: number): Promise<void> {
  for (let lsn = 1; lsn <= n; lsn++) await appendEntry(root, storage, partition, lsn, randomBytes(64));
  await commit(root, storage, partition, n);
}

const sinkLsns = (dir: string, storage: string, partition: string) =>
  readdirSync(join(dir, storage, partition)).filter((f) => f.endsWith('.tar')).map((f) => Number(f.slice(0, -4))).sort((a, b) => a - b);

describe('archiver batches', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('archives 2.5 batches of entries with 3 archive effects, in order, each entry once, and prunes the log', async () => {
    const n = 2 * ARCHIVE_BATCH + ARCHIVE_BATCH / 2;
    const d = tempDir('batch');
    const { engine } = archiverEngine(redis.url);
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      await writeEntries(log, 's', 'p', n);
      const [status] = await archiveOnce(engine, log, `file://${sinkDir}`);
      assert.deepEqual([status.state, status.archived, status.present, status.nextLsn], ['Idle', n, 0, n + 1]);
      assert.deepEqual(sinkLsns(sinkDir, 's', 'p'), Array.from({ length: n }, (_, i) => i + 1));
      await engine.settled(); // the last effect job is marked completed after its result is applied
      const counts = await engine.queueCounts();
      // completed jobs are kept a day: one per effect ever run (one per entry before batches)
      assert.equal(counts.effects.completed, 3);
      const consumer = defaultConsumer(`file://${sinkDir}`);
      assert.equal(readFileSync(join(log, 's', 'p', 'positions', consumer), 'utf8').trim(), String(n));
      const left = readdirSync(join(log, 's', 'p', 'entries')).filter((f) => /^\d+$/.test(f));
      assert.ok(left.length <= 1, `entries left after pruning: ${left.join(', ')}`);
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('a batch that meets an entry it must not overwrite keeps and acknowledges the entries before it; the partition fails at that entry', async () => {
    const bad = ARCHIVE_BATCH + 6;
    const d = tempDir('batch-bad');
    const { engine } = archiverEngine(redis.url);
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      await writeEntries(log, 's', 'p', ARCHIVE_BATCH + 10);
      const other = Buffer.from('not the entry');
      await openSink(`file://${sinkDir}`).put(entryKey({ storage: 's', partition: 'p' }, bad), other, { sha256: createHash('sha256').update(other).digest('hex'), size: other.length });
      const [status] = await archiveOnce(engine, log, `file://${sinkDir}`);
      assert.deepEqual([status.state, status.archived, status.nextLsn], ['Failed', bad - 1, bad]);
      assert.match(status.problem ?? '', /CHECKSUM_MISMATCH/);
      assert.deepEqual(sinkLsns(sinkDir, 's', 'p'), Array.from({ length: bad }, (_, i) => i + 1), 'nothing after the entry that failed');
      const consumer = defaultConsumer(`file://${sinkDir}`);
      assert.equal(readFileSync(join(log, 's', 'p', 'positions', consumer), 'utf8').trim(), String(bad - 1));
      assert.ok(existsSync(join(log, 's', 'p', 'entries', String(bad).padStart(20, '0'))), 'the failed entry is kept in the log');
    } finally {
      await engine.close();
      d.remove();
    }
  });
});
