import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { dirname } from 'node:path';
import { packEntry } from '../src/archiver/entry-tar.js';
import { ArchiveFeed } from '../chaos/archive-feed.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosEnv } from '../chaos/env.js';
import { Figures } from '../chaos/figures.js';
import { Rng } from '../chaos/random.js';
import { diffDigests, digestTree, makeTree } from '../chaos/trees.js';
import { runProcess } from './helpers/processes.js';

/**
 * `npm run chaos` works (docs/chaos.md): a tiny run of two cheap scenarios through the real runner,
 * and the checks that make its figures honest (a tree difference, a duplicated transition and a
 * non-zero must-be-zero figure are each seen). Not skipped under CI: it needs only redis-server.
 */

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

describe('npm run chaos', () => {
  it('a tiny run (rpc-auth, worker-kill) prints the table and one JSON line with every figure, and exits 0', { timeout: 300_000 }, async (t) => {
    const r = await runProcess(process.execPath, ['--import', 'tsx', 'chaos/run.ts', '--only', 'rpc-auth,worker-kill', '--budget', '20', '--scale', '0.05', '--seed', '11'], { timeoutMs: 280_000 });
    t.diagnostic(r.stderr.slice(-3000));
    const report = lastJson(r.stdout);
    assert.equal(report.seed, 11);
    assert.match(r.stdout, /^FIGURE +VALUE +TARGET/m);
    assert.match(r.stdout, /^unauthenticatedAccepted +0 +0 +PASS/m);
    for (const name of ['runsLostOrStuck', 'completedButDifferent', 'duplicateTransitions', 'processCrashes', 'callsWithoutAnswer', 'unauthenticatedAccepted', 'filesOutsideAllowList', 'tornReceivers']) {
      assert.equal(report.figures[name], 0, `${name}: ${JSON.stringify(report.evidence[name])}`);
    }
    // every RPC of both services, six wrong credentials each
    assert.ok(report.figures.rpcAuthCalls >= 6 * 20, `rpcAuthCalls ${report.figures.rpcAuthCalls}`);
    assert.ok(report.figures.runsStarted >= 1 && report.figures.runsCompleted === report.figures.runsStarted, JSON.stringify(report.figures));
    assert.ok(report.figures.treesCompared >= 3);
    assert.deepEqual(Object.keys(report.scenarios).sort(), ['rpc-auth', 'worker-kill']);
    assert.equal(report.ok, true);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
  });

  it('bad options are refused with status 2, naming the option', async () => {
    const r = await runProcess(process.execPath, ['--import', 'tsx', 'chaos/run.ts', '--only', 'no-such-scenario'], { timeoutMs: 60_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--only: unknown scenario "no-such-scenario"/);
  });

  it('a tree that differs by one byte, a mode or a missing file is seen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-chaos-test-'));
    try {
      await makeTree(join(dir, 'a'), new Rng(5), { files: 5, bytes: 10_000 });
      await makeTree(join(dir, 'b'), new Rng(5), { files: 5, bytes: 10_000 });
      assert.deepEqual(diffDigests(await digestTree(join(dir, 'a')), await digestTree(join(dir, 'b'))), []);
      writeFileSync(join(dir, 'b', 'README'), 'changed\n', { mode: 0o640 });
      const d = diffDigests(await digestTree(join(dir, 'a')), await digestTree(join(dir, 'b')));
      assert.equal(d.length, 1);
      assert.match(d[0], /^differs README/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a (machine id, version) pair logged twice counts as a duplicated transition, and makes the run not ok', async () => {
    const figures = new Figures();
    const env = await ChaosEnv.start({ rng: new Rng(1), figures, deadline: Date.now(), log: () => undefined, scale: 1 });
    try {
      const { Redis } = await import('ioredis');
      const conn = new Redis(env.redisUrl);
      const e = (version: number) => JSON.stringify({ kind: 'replication', machineId: 'm1', parent: null, from: 'A', to: 'B', event: 'x', at: 1, version, status: 'active' });
      for (const v of [1, 2, 2, 3]) await conn.xadd(`${env.prefix}:transitions`, '*', 'e', e(v));
      conn.disconnect();
      await env.countDuplicateTransitions();
      assert.equal(figures.values.duplicateTransitions, 1);
      assert.match(figures.evidence.duplicateTransitions![0], /m1 version 2 logged twice/);
      assert.equal(figures.ok, false);
    } finally {
      await env.close();
    }
  });

  it('an archived object with other bytes, or missing, is seen (failover scenario: archive checks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-chaos-test-'));
    try {
      const feed = new ArchiveFeed(dir, new Rng(3), 2);
      for (let i = 0; i < 6; i++) await feed.feedOnce();
      // archive every entry by hand, as the file sink lays them out
      for (const key of feed.expected.keys()) {
        const [storage, partition, name] = key.split('/');
        const { stream } = await packEntry(join(feed.root, storage, partition, 'entries', name.replace(/\.tar$/, '')));
        mkdirSync(dirname(join(feed.sinkDir, key)), { recursive: true });
        await pipeline(stream, createWriteStream(join(feed.sinkDir, key)));
      }
      const [wrong, gone] = [...feed.expected.keys()];
      writeFileSync(join(feed.sinkDir, wrong), 'other content');
      unlinkSync(join(feed.sinkDir, gone));
      const figures = new Figures();
      await feed.verify(figures, 'test');
      assert.equal(figures.values.archiveObjectsVerified, feed.expected.size - 1);
      assert.equal(figures.values.archiveObjectsWrong, 1);
      assert.match(figures.evidence.archiveObjectsWrong![0], new RegExp(`${wrong}: entry sha256 [0-9a-f]{64}, object [0-9a-f]{64}`));
      assert.equal(figures.values.archiveObjectsMissing, 1);
      assert.equal(figures.ok, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
