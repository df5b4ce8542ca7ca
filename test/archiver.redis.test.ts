import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { appendEntry, commit, createFileLogSource, registerConsumer } from '../src/archiver/log-source/index.js';
import { openSink } from '../src/archiver/sinks/index.js';
import { entryKey } from '../src/archiver/contracts.js';
import { restorePartition } from '../src/archiver/restore.js';
import { scanAndNotify, allPartitionStatus } from '../src/archiver/coordinator.js';
import { defaultConsumer } from '../src/archiver/archive-target.js';
import { InvalidArgumentError } from '../src/errors/index.js';
import { LocalOrchestrator } from '../src/service/local-orchestrator.js';
import { JobStore } from '../src/jobs/store.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { createLogger } from '../src/util/logger.js';
import { startTestRedis } from './helpers/redis.js';
import { captureLog, LEVEL } from './helpers/log-capture.js';
import { tempDir } from './helpers/replication.js';
import { archiveOnce, archiverEngine, fastArchiveRetry } from './helpers/archiver.js';
import { startSwift, swiftUnavailableReason, type SwiftServer } from './helpers/swift.js';
import { startNodeProcess, stopProcess, until } from './helpers/processes.js';

const LSN_DIR = (root: string, s: string, p: string) => join(root, s, p, 'entries');

/** Writes committed entries lsn from..to (alternating file and directory entries). */
async function writeEntries(root: string, storage: string, partition: string, from: number, to: number, size = 256): Promise<Map<number, string>> {
  const sums = new Map<number, string>();
  for (let lsn = from; lsn <= to; lsn++) {
    const body = randomBytes(size);
    await appendEntry(root, storage, partition, lsn, lsn % 2 ? body : { 'data.bin': body, 'meta/info.txt': Buffer.from(`lsn ${lsn}\n`) });
    sums.set(lsn, createHash('sha256').update(body).digest('hex'));
  }
  await commit(root, storage, partition, to);
  return sums;
}

function sinkKeys(dir: string, storage: string, partition: string): number[] {
  const d = join(dir, storage, partition);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => f.endsWith('.tar')).map((f) => Number(f.slice(0, -4))).sort((a, b) => a - b);
}

describe('WAL archiver through the engine', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('archives many partitions in LSN order, acknowledges and prunes, and restores an equal copy', async () => {
    const d = tempDir('arc');
    const { engine } = archiverEngine(redis.url);
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      const sums = new Map<string, Map<number, string>>();
      for (let p = 0; p < 12; p++) sums.set(`p${p}`, await writeEntries(log, 'st1', `p${p}`, 1, 15));
      // a second consumer holds position 4 on p0: the source may prune only below it there
      await registerConsumer(log, 'st1', 'p0', 'replica', 4);
      // watch the sink while archiving: an in-order archiver never leaves a hole behind its newest entry
      let holes = 0;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (let p = 0; p < 12; p++) {
            const keys = sinkKeys(sinkDir, 'st1', `p${p}`);
            if (keys.some((k, i) => k !== i + 1)) holes++;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const all = await archiveOnce(engine, log, `file://${sinkDir}`);
      watching = false;
      await watcher;
      assert.equal(holes, 0, 'an entry was archived before an earlier one');
      assert.equal(all.length, 12);
      for (const s of all) {
        assert.equal(s.state, 'Idle');
        assert.equal(s.nextLsn, 16);
        assert.equal(s.archived, 15);
        assert.deepEqual(sinkKeys(sinkDir, 'st1', s.partition), Array.from({ length: 15 }, (_, i) => i + 1));
      }
      // pruning: only below the lowest acknowledged position
      assert.deepEqual(readdirSync(LSN_DIR(log, 'st1', 'p0')).map(Number).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 4));
      assert.deepEqual(readdirSync(LSN_DIR(log, 'st1', 'p1')).map(Number), [15], 'only the archiver consumes p1: everything below its position is pruned');
      assert.equal(readFileSync(join(log, 'st1', 'p1', 'positions', defaultConsumer(`file://${sinkDir}`)), 'utf8').trim(), '15');

      const into = join(d.path, 'restored');
      const r = await restorePartition({ sink: openSink(`file://${sinkDir}`), storage: 'st1', partition: 'p3', into });
      assert.deepEqual([r.restored, r.firstLsn, r.lastLsn], [15, 1, 15]);
      for (const [lsn, sum] of sums.get('p3')!) {
        const name = String(lsn).padStart(20, '0');
        const file = lsn % 2 ? join(into, name) : join(into, name, 'data.bin');
        assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), sum, `restored entry ${lsn} differs`);
      }
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('a gap (entries pruned before archiving) is logged at warn, counted and skipped; restore stops at it', async () => {
    const d = tempDir('gap');
    const { logger, lines } = captureLog('warn');
    const { engine, metrics } = archiverEngine(redis.url, { logger });
    try {
      const log = join(d.path, 'log');
      const sink = `file://${join(d.path, 'sink')}`;
      await writeEntries(log, 's', 'g', 1, 3);
      await archiveOnce(engine, log, sink);
      await writeEntries(log, 's', 'g', 4, 9);
      // another consumer's prune removed 3..6 before the archiver saw 4..6 (3 stayed for the archiver's position)
      for (const lsn of [3, 4, 5, 6]) rmSync(join(LSN_DIR(log, 's', 'g'), String(lsn).padStart(20, '0')), { recursive: true });
      const [s] = await archiveOnce(engine, log, sink);
      assert.equal(s.gaps, 1);
      assert.equal(s.nextLsn, 10);
      assert.deepEqual(sinkKeys(join(d.path, 'sink'), 's', 'g'), [1, 2, 3, 7, 8, 9]);
      assert.match(await metrics.registry.getSingleMetricAsString('ferry_wal_archive_gaps_total'), /ferry_wal_archive_gaps_total\{storage="s"\} 1/);
      const gapLines = lines.filter((l) => l.msg === 'archive.gap');
      assert.equal(gapLines.length, 1, 'the gap is visible at the default level (warn)');
      assert.equal(gapLines[0].level, LEVEL.warn);
      await assert.rejects(
        restorePartition({ sink: openSink(sink), storage: 's', partition: 'g', into: join(d.path, 'out') }),
        (e: unknown) => (e as { code?: string }).code === 'GAP' && /\b4\b/.test((e as Error).message),
      );
      assert.equal(readdirSync(join(d.path, 'out')).filter((f) => !f.startsWith('.')).length, 3, 'entries before the gap stay restored');
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('an entry already in the sink: same content counts as archived, different content fails the partition (logged at warn) and is not overwritten', async () => {
    const d = tempDir('dup');
    const { logger, lines } = captureLog('warn');
    const { engine, metrics } = archiverEngine(redis.url, { logger });
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      const sink = openSink(`file://${sinkDir}`);
      await writeEntries(log, 's', 'same', 1, 3);
      await writeEntries(log, 's', 'diff', 1, 3);
      // pre-upload entry 2 of "same" exactly as the archiver would, and a different object for "diff" 2
      const source = createFileLogSource(log);
      const { stream } = await source.readEntry({ storage: 's', partition: 'same' }, 2);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      await sink.put(entryKey({ storage: 's', partition: 'same' }, 2), body, { sha256: createHash('sha256').update(body).digest('hex'), size: body.length });
      const other = Buffer.from('not the entry');
      await sink.put(entryKey({ storage: 's', partition: 'diff' }, 2), other, { sha256: createHash('sha256').update(other).digest('hex'), size: other.length });

      const all = await archiveOnce(engine, log, `file://${sinkDir}`);
      const same = all.find((s) => s.partition === 'same')!;
      const diff = all.find((s) => s.partition === 'diff')!;
      assert.deepEqual([same.state, same.archived, same.present, same.nextLsn], ['Idle', 2, 1, 4]);
      assert.equal(diff.state, 'Failed');
      assert.equal(diff.nextLsn, 2);
      assert.match(diff.problem ?? '', /CHECKSUM_MISMATCH/);
      const failed = lines.filter((l) => l.machineKind === 'partition' && l.to === 'Failed');
      assert.equal(failed.length, 1, `Failed is visible at the default level (warn): ${JSON.stringify(lines)}`);
      assert.equal(failed[0].level, LEVEL.warn);
      assert.match(String(failed[0].problem), /CHECKSUM_MISMATCH/);
      const effectError = lines.find((l) => l.msg.startsWith('effect failed') && (l.error as { code?: string }).code === 'CHECKSUM_MISMATCH');
      assert.equal(effectError?.level, LEVEL.warn, 'the effect\'s PermanentError at warn too');
      assert.deepEqual(readFileSync(join(sinkDir, entryKey({ storage: 's', partition: 'diff' }, 2))), other, 'never overwritten');
      assert.deepEqual(sinkKeys(sinkDir, 's', 'diff'), [1, 2], 'nothing after the failed entry');
      const counts = await metrics.registry.getSingleMetricAsString('ferry_wal_archive_total');
      assert.match(counts, /status="skipped"\} 1/);
      assert.match(counts, /status="success"\} 3/);
      assert.match(counts, /status="fail"\} 1/);
      // the failed partition's entries are not pruned past what was archived
      assert.ok(existsSync(join(LSN_DIR(log, 's', 'diff'), String(2).padStart(20, '0'))));
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('the orchestrator: NotifyLogEntries takes a consumer, GetPartition tells the archivers of one partition apart', async () => {
    const d = tempDir('orch');
    const { engine, prefix } = archiverEngine(redis.url);
    const api = new LocalOrchestrator({ engine, jobs: new JobStore(engine.connection, prefix), scheduler: new JobScheduler(engine.connection, prefix, createLogger({ level: 'warn', pretty: false })) });
    try {
      const log = join(d.path, 'log');
      await writeEntries(log, 's', 'o', 1, 3);
      await registerConsumer(log, 's', 'o', 'replica', 0); // holds the log: both sinks can get everything
      const [A, B] = [`file://${join(d.path, 'A')}`, `file://${join(d.path, 'B')}`];
      await assert.rejects(api.notifyLogEntries(log, A, 'no/slash'), (e: unknown) => e instanceof InvalidArgumentError && /^consumer: "no\/slash" may only contain/.test(e.message));
      assert.equal(await api.notifyLogEntries(log, A, 'alpha'), 1);
      assert.equal(await api.notifyLogEntries(log, B), 1);
      await until('both archived', async () => (await allPartitionStatus(engine)).filter((s) => s.nextLsn === 4 && s.state === 'Idle').length === 2, 30_000, 100);
      for (const dir of ['A', 'B']) assert.deepEqual(sinkKeys(join(d.path, dir), 's', 'o'), [1, 2, 3]);
      const alpha = await api.getPartition({ storage: 's', partition: 'o', consumer: 'alpha' });
      assert.deepEqual([alpha.sink, alpha.consumer, alpha.archived], [A, 'alpha', 3]);
      assert.equal((await api.getPartition({ storage: 's', partition: 'o', consumer: defaultConsumer(B) })).sink, B);
      await assert.rejects(api.getPartition({ storage: 's', partition: 'o' }), /archived by 2 archivers/);
      await assert.rejects(api.getPartition({ storage: 's', partition: 'o', consumer: 'nobody' }), /no partition s\/o archived as consumer nobody/);
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('a machine from before partitions had targets (`wal.<storage>.<partition>`, no consumer) is shown as the legacy consumer and left alone', async () => {
    const d = tempDir('legacy');
    const { engine } = archiverEngine(redis.url);
    try {
      const log = join(d.path, 'log');
      const sink = `file://${join(d.path, 'S')}`;
      await writeEntries(log, 's', 'l', 1, 2);
      // as the old coordinator started it
      await engine.start('partition', 'wal.s.l', { storage: 's', partition: 'l', log, sink, nextLsn: 1 } as never);
      const all = await archiveOnce(engine, log, sink);
      assert.deepEqual(all.map((s) => [s.id.split('.').length, s.archived]), [[4, 2]], 'the new machine archives the partition');
      const legacy = (await allPartitionStatus(engine)).find((s) => s.id === 'wal.s.l')!;
      assert.deepEqual([legacy.consumer, legacy.state, legacy.archived], ['archiver', 'Idle', 0], 'the old one is never notified again');
    } finally {
      await engine.close();
      d.remove();
    }
  });

  it('a worker killed with SIGKILL mid-archive: another worker finishes, every entry archived once', async () => {
    const d = tempDir('kill');
    const { engine, prefix } = archiverEngine(redis.url, { workers: false });
    const env = { REDIS_URL: redis.url, FERRY_LOG_LEVEL: 'warn' };
    const args = ['worker', '--key-prefix', prefix, '--lock-duration-ms', '2000', '--stalled-interval-ms', '1000', '--concurrency', '2'];
    let workers = [await startNodeProcess('bin/ferry.mjs', args, env, 'worker running')];
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      for (let p = 0; p < 4; p++) await writeEntries(log, 's', `k${p}`, 1, 60, 64 * 1024);
      await scanAndNotify(engine, createFileLogSource(log), { log, sink: `file://${sinkDir}`, retry: fastArchiveRetry });
      await until('archiving under way', () => [0, 1, 2, 3].some((p) => sinkKeys(sinkDir, 's', `k${p}`).length > 5));
      await stopProcess(workers[0], 'SIGKILL');
      workers = [await startNodeProcess('bin/ferry.mjs', args, env, 'worker running')];
      await until('all archived', async () => (await allPartitionStatus(engine)).every((s) => s.nextLsn === 61), 60_000, 200);
      for (let p = 0; p < 4; p++) assert.deepEqual(sinkKeys(sinkDir, 's', `k${p}`), Array.from({ length: 60 }, (_, i) => i + 1));
      const log2 = await engine.transitions.read('0');
      const byMachine = new Map<string, number[]>();
      for (const e of log2) byMachine.set(e.machineId, [...(byMachine.get(e.machineId) ?? []), e.version]);
      for (const [id, versions] of byMachine) assert.equal(new Set(versions).size, versions.length, `duplicate transition of ${id}`);
      const status = await allPartitionStatus(engine);
      assert.equal(status.reduce((n, s) => n + s.archived + s.present, 0), 240, 'each entry counted once');
    } finally {
      await Promise.all(workers.map((w) => stopProcess(w)));
      await engine.close();
      d.remove();
    }
  });
});

const swiftMissing = swiftUnavailableReason();
describe('WAL archiver to S3 (Swift)', { skip: swiftMissing && process.env.CI !== 'true' ? `${swiftMissing} (skipped outside CI)` : false }, () => {
  let redis: EmbeddedRedis;
  let swift: SwiftServer;
  before(async () => {
    if (swiftMissing) throw new Error(`${swiftMissing}; CI=true, so this suite fails instead of skipping`);
    redis = await startTestRedis();
    swift = await startSwift();
  });
  after(async () => { await swift?.stop(); await redis?.stop(); });

  it('a sink outage backs off every partition on it; after the restart nothing is lost or duplicated', async () => {
    const d = tempDir('s3');
    const { engine } = archiverEngine(redis.url, { sinkBackoffMs: 300 });
    try {
      const log = join(d.path, 'log');
      const url = swift.sinkUrl('wal');
      for (let p = 0; p < 3; p++) await writeEntries(log, 's', `o${p}`, 1, 5);
      await archiveOnce(engine, log, url);
      await swift.stopProxy();
      for (let p = 0; p < 3; p++) await writeEntries(log, 's', `o${p}`, 6, 12);
      await scanAndNotify(engine, createFileLogSource(log), { log, sink: url, retry: fastArchiveRetry });
      await until('partitions back off', async () => (await allPartitionStatus(engine)).filter((s) => s.state === 'WorkingWait').length === 3, 30_000, 100);
      const waiting = await allPartitionStatus(engine);
      assert.ok(waiting.every((s) => s.lastError && ['SINK_UNAVAILABLE', 'SINK_BACKOFF'].includes(s.lastError.code)), JSON.stringify(waiting));
      await swift.startProxy();
      const all = await archiveOnce(engine, log, url, 90_000);
      const sink = openSink(url);
      for (const s of all) {
        assert.equal(s.nextLsn, 13);
        assert.equal(s.archived + s.present, 12);
        assert.deepEqual(await sink.list(`s/${s.partition}/`), Array.from({ length: 12 }, (_, i) => `s/${s.partition}/${String(i + 1).padStart(20, '0')}.tar`));
      }
      const into = join(d.path, 'restored');
      const r = await restorePartition({ sink, storage: 's', partition: 'o1', into });
      assert.equal(r.restored, 12);
      assert.ok(statSync(into).isDirectory());
    } finally {
      await engine.close();
      d.remove();
    }
  });
});
