import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { appendEntry, commit, registerConsumer } from '../src/archiver/log-source/index.js';
import { allPartitionStatus } from '../src/archiver/coordinator.js';
import { entryKey } from '../src/archiver/contracts.js';
import { defaultConsumer } from '../src/archiver/archive-target.js';
import { openSink } from '../src/archiver/sinks/index.js';
import { RemoteOrchestrator } from '../src/api/orchestrator-client.js';
import { startOrchestratorServer, type OrchestratorServer } from '../src/api/orchestrator-server.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { InvalidArgumentError, PermanentError, fieldOf } from '../src/errors/index.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { JobStore } from '../src/jobs/store.js';
import { LocalOrchestrator } from '../src/service/local-orchestrator.js';
import { createLogger } from '../src/util/logger.js';
import { archiveOnce, archiverEngine } from './helpers/archiver.js';
import { runProcess, until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

/**
 * The archiver's operator edges: `ferry archive reset STORAGE/PARTITION` (and ResetPartition) lets a
 * Failed partition go on once a person removed the cause, and `ferry restore` at a gap exits 1
 * naming the flag to go on with.
 */

const TOKEN = 'archive-reset-token-0123456789';

function ferry(args: string[], env: Record<string, string>) {
  return runProcess(process.execPath, ['bin/ferry.mjs', ...args], { env: { FERRY_LOG_LEVEL: 'warn', ...env }, timeoutMs: 120_000 });
}

async function writeEntries(root: string, storage: string, partition: string, to: number): Promise<void> {
  for (let lsn = 1; lsn <= to; lsn++) await appendEntry(root, storage, partition, lsn, Buffer.from(`entry ${lsn} of ${partition}\n`));
  await commit(root, storage, partition, to);
}

function sinkLsns(dir: string, storage: string, partition: string): number[] {
  const d = join(dir, storage, partition);
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.tar')).map((f) => Number(f.slice(0, -4))).sort((a, b) => a - b) : [];
}

describe('archive reset and restore at a gap', () => {
  let redis: EmbeddedRedis;
  let env: Record<string, string>;
  before(async () => { redis = await startTestRedis(); env = { REDIS_URL: redis.url }; });
  after(async () => { await redis.stop(); });

  it('a partition Failed on CHECKSUM_MISMATCH resumes after `ferry archive reset`, once the wrong object is removed; ResetPartition selects and refuses as GetPartition', async () => {
    const d = tempDir('reset');
    const { engine, prefix } = archiverEngine(redis.url);
    const logger = createLogger({ level: 'warn', pretty: false });
    const scheduler = new JobScheduler(engine.connection, prefix, logger);
    const api = new LocalOrchestrator({ engine, jobs: new JobStore(engine.connection, prefix), scheduler });
    let server: OrchestratorServer | undefined;
    let remote: RemoteOrchestrator | undefined;
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      const sink = `file://${sinkDir}`;
      await writeEntries(log, 's', 'diff', 3);
      await registerConsumer(log, 's', 'diff', 'replica', 0); // keeps every entry for the second sink below
      // another object where entry 2 goes: the archiver must stop there, never overwrite it
      const other = Buffer.from('not the entry');
      const key = entryKey({ storage: 's', partition: 'diff' }, 2);
      await openSink(sink).put(key, other, { sha256: createHash('sha256').update(other).digest('hex'), size: other.length });
      const [failed] = await archiveOnce(engine, log, sink);
      assert.equal(failed.state, 'Failed');
      // the problem names the command that resets it
      assert.match(failed.problem ?? '', new RegExp(`CHECKSUM_MISMATCH.*ferry archive reset s/diff --consumer ${defaultConsumer(sink)}`));

      const cli = ['--key-prefix', prefix, 'archive', 'reset'];
      const bad = await ferry([...cli, 's'], env);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /STORAGE\/PARTITION: "s" must be STORAGE\/PARTITION/);
      const none = await ferry([...cli, 's/nope'], env);
      assert.equal(none.code, 2, none.stderr);
      assert.match(none.stderr, /no partition s\/nope; see `ferry archive status`/);

      // the person removes the wrong object, then resets
      rmSync(join(sinkDir, key));
      const reset = await ferry([...cli, 's/diff', '--json'], env);
      assert.equal(reset.code, 0, reset.stderr);
      const out = JSON.parse(reset.stdout.trim());
      assert.equal(out.id, failed.id);
      assert.match(out.problem, /^archiving LSN 2 failed \(CHECKSUM_MISMATCH\)/);
      const done = await until('archived after the reset', async () => (await allPartitionStatus(engine)).find((s) => s.id === failed.id && s.state === 'Idle' && s.nextLsn === 4), 30_000, 100);
      assert.equal(done.problem, null);
      assert.deepEqual(sinkLsns(sinkDir, 's', 'diff'), [1, 2, 3]);

      // not Failed: refused, nothing sent
      const again = await ferry([...cli, 's/diff'], env);
      assert.equal(again.code, 3, again.stderr);
      assert.match(again.stderr, /s\/diff \(consumer [^)]+\) is Idle, not Failed: nothing to reset/);

      // over gRPC, with a second archiver of the same partition: the selection names it
      server = await startOrchestratorServer({ orchestrator: api, token: TOKEN, host: '127.0.0.1', port: 0 });
      remote = new RemoteOrchestrator({ address: server.address, tls: false, token: TOKEN });
      const second = `file://${join(d.path, 'second')}`;
      await archiveOnce(engine, log, second, 60_000, defaultConsumer(sink)); // the same consumer into another sink
      await assert.rejects(remote.resetPartition({ storage: 's', partition: 'diff' }), (e: unknown) => e instanceof InvalidArgumentError && /^resetting partition s\/diff .*consumer: s\/diff is archived by 2 archivers/.test(e.message));
      await assert.rejects(api.resetPartition({ storage: 's', partition: 'diff', consumer: defaultConsumer(sink) }), (e: unknown) => fieldOf(e) === 'consumer');
      await assert.rejects(remote.resetPartition({ storage: 's', partition: 'diff', sink: second }), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_FAILED');
      assert.equal((await remote.getPartition({ storage: 's', partition: 'diff', sink: second })).sink, second);
      await assert.rejects(remote.getPartition({ storage: 's', partition: 'diff', sink: 'ftp://x' }), /sink: "ftp:\/\/x" is not a sink URL/);
    } finally {
      await remote?.close();
      await server?.close(500);
      await scheduler.close();
      await engine.close();
      d.remove();
    }
  });

  it('`ferry restore` stopping at a gap exits 1 and names --from; a bad range names --from and --to-lsn', async () => {
    const d = tempDir('restore-gap');
    const { engine } = archiverEngine(redis.url);
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      await writeEntries(log, 's', 'p', 4);
      await archiveOnce(engine, log, `file://${sinkDir}`);
      rmSync(join(sinkDir, entryKey({ storage: 's', partition: 'p' }, 3)));
      const into = join(d.path, 'out');
      const args = ['restore', '--sink', `file://${sinkDir}`, '--storage', 's', '--partition', 'p', '--into', into];
      const r = await ferry(args, env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /LSN 3 is not archived, restore stopped; entries 1\.\.2 \(2\) were restored .*restore from there with --from 4\)/);
      assert.doesNotMatch(r.stderr, /fromLsn/);
      assert.deepEqual(readdirSync(into).filter((f) => !f.startsWith('.')).length, 2);
      const json = await ferry([...args, '--json'], env);
      assert.equal(json.code, 1, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout.trim()).error.nextArchivedLsn, 4);
      const range = await ferry([...args, '--from', '4', '--to-lsn', '2'], env);
      assert.equal(range.code, 2, range.stderr);
      assert.match(range.stderr, /invalid LSN range: --from 4 is above --to-lsn 2/);
    } finally {
      await engine.close();
      d.remove();
    }
  });
});
