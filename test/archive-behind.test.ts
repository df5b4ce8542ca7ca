import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { archiveEntry } from '../src/archiver/archive-entry.js';
import { appendEntry, commit, createFileLogSource } from '../src/archiver/log-source/index.js';
import { ArchiverMetrics } from '../src/archiver/metrics.js';
import { SinkBackoff } from '../src/archiver/sink-backoff.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { systemClock } from '../src/engine/types.js';
import type { EffectContext } from '../src/engine/types.js';
import { FerryError } from '../src/errors/index.js';
import { createLogger } from '../src/util/logger.js';
import { openRedis } from '../src/util/redis.js';
import { Registry } from 'prom-client';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

// A partition machine that a failover took back a few transitions (docs/ha.md): its archiving was
// done (objects in the sink, its position moved, the log pruned), its record forgot it. Its next
// archive effect starts at an entry the log no longer has; found by the failover chaos scenario
// (a partition Failed with ENTRY_NOT_FOUND, every later entry left unarchived).

const ctx = (): EffectContext => ({
  machineId: 'wal.t.s.p', childId: 'archive', signal: new AbortController().signal, log: createLogger({ level: 'silent' }),
  attempt: 1, scheduledAt: Date.now(), progress: () => undefined,
});

describe('archiving from behind the log source (a partition machine a failover took back)', () => {
  let redis: EmbeddedRedis;
  let conn: Redis;
  let d: { path: string; remove(): void };
  let deps: { metrics: ArchiverMetrics; backoff: SinkBackoff };
  before(async () => {
    redis = await startTestRedis();
    conn = openRedis(redis.url);
    deps = { metrics: new ArchiverMetrics(new Registry()), backoff: new SinkBackoff(conn, `behind${process.pid}`, systemClock, 100) };
    d = tempDir('archive-behind');
  });
  after(async () => {
    conn.disconnect();
    await redis.stop();
    d.remove();
  });

  /** entries 1..10 archived into the sink, the position at 10, the log pruned to entry 10 */
  async function archivedAndPruned(name: string) {
    const log = join(d.path, name, 'wal');
    const sink = `file://${join(d.path, name, 'sink')}`;
    for (let lsn = 1; lsn <= 10; lsn++) await appendEntry(log, 's', 'p', lsn, Buffer.from(`entry ${lsn}`));
    await commit(log, 's', 'p', 10);
    const input = { storage: 's', partition: 'p', log, sink, consumer: 'c' };
    const done = await archiveEntry({ ...input, lsn: 1, upTo: 10 }, ctx(), deps);
    assert.equal(done.archived, 10);
    assert.equal((await createFileLogSource(log).partitionState({ storage: 's', partition: 'p' })).lowWaterMark, 10);
    return { input, sink: join(d.path, name, 'sink') };
  }

  it('entries pruned and in the sink count as present: the machine catches up instead of failing', async () => {
    const { input } = await archivedAndPruned('present');
    // the machine, taken back, archives from 3 again
    const out = await archiveEntry({ ...input, lsn: 3, upTo: 10 }, ctx(), deps);
    assert.deepEqual({ lastLsn: out.lastLsn, present: out.present, archived: out.archived, status: out.status }, { lastLsn: 9, present: 7, archived: 0, status: 'present' });
    // and its next effect goes on from the lowest entry present
    const next = await archiveEntry({ ...input, lsn: 10, upTo: 10 }, ctx(), deps);
    assert.equal(next.present, 1);
  });

  it('an entry pruned and not in the sink is a temporary ENTRY_PRUNED (the gap rule skips it), never a Failed partition', async () => {
    const { input, sink } = await archivedAndPruned('gap');
    unlinkSync(join(sink, 's', 'p', '00000000000000000005.tar'));
    await assert.rejects(archiveEntry({ ...input, lsn: 3, upTo: 10 }, ctx(), deps), (err: unknown) => {
      assert.ok(err instanceof FerryError && err.kind === 'temporary', String(err));
      assert.equal(err.code, 'ENTRY_PRUNED');
      assert.match(err.message, /entry 5 of s\/p was pruned/);
      return true;
    });
  });
});
