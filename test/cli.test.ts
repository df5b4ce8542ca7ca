import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { runProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

interface Result { code: number | null; stdout: string; stderr: string }

function ferry(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return runProcess(process.execPath, ['bin/ferry.mjs', ...args], { cwd: process.cwd(), env: { FERRY_LOG_LEVEL: 'warn', ...env } });
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

describe('the ferry command', () => {
  let redis: EmbeddedRedis;
  let env: Record<string, string>;
  before(async () => { redis = await startTestRedis(); env = { REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state' }; });
  after(async () => { await redis.stop(); });

  it('ferry demo --json: both runs Completed, the last stdout line is one JSON object', async () => {
    const r = await ferry(['demo', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson(r.stdout);
    assert.equal(out.full.state, 'Completed');
    assert.equal(out.incremental.state, 'Completed');
    assert.equal(out.full.filesystems.length, 3);
    for (const f of out.incremental.filesystems) {
      assert.deepEqual(Object.keys(f).sort(), ['bytes', 'name', 'problem', 'sleepUntil', 'state', 'stepsDone', 'stepsTotal']);
      assert.equal(f.stepsDone, 1);
      assert.ok(f.bytes > 0 && f.bytes < out.full.filesystems.find((x: { name: string }) => x.name === f.name).bytes, 'incremental sends less than full');
    }
  });

  it('snapshot, list, replicate, status: exit 0 on Completed, 1 on a conflict, 2 on bad input', async () => {
    const d = tempDir('cli');
    try {
      mkdirSync(join(d.path, 's', 'data'), { recursive: true });
      writeFileSync(join(d.path, 's', 'data', 'f.txt'), 'hello\n');
      const snap = await ferry(['snapshot', `dir:${d.path}/s`, '--prefix', 'nightly', '--json'], env);
      assert.equal(snap.code, 0, snap.stderr);
      assert.match(lastJson(snap.stdout)[0].name, /^nightly_\d{8}T\d{6}Z$/);
      const listed = lastJson((await ferry(['list', `dir:${d.path}/s`, '--json'], env)).stdout);
      assert.equal(listed[0].filesystem, 'data');
      assert.equal(listed[0].versions.length, 1);

      const rep = await ferry(['replicate', `dir:${d.path}/s`, `dir:${d.path}/r`, '--json'], env);
      assert.equal(rep.code, 0, rep.stderr);
      const report = lastJson(rep.stdout);
      assert.equal(report.state, 'Completed');
      assert.equal(existsSync(join(d.path, 'r', 'data', 'f.txt')), true);

      const status = await ferry(['status', report.id, '--json'], env);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(lastJson(status.stdout).state, 'Completed');
      const runs = lastJson((await ferry(['status', '--json'], env)).stdout);
      assert.ok(runs.runs.some((x: { id: string }) => x.id === report.id));

      // a receiver that cannot take the sender's snapshots: the run does not complete, exit 1
      const fail = await ferry(['replicate', `dir:${d.path}/s`, `dir:${d.path}/r2`, '--initial', 'fail', '--json'], env);
      assert.equal(fail.code, 1);
      assert.equal(lastJson(fail.stdout).state, 'PermanentError');

      const bad = await ferry(['replicate', 'dir:relative/path', `dir:${d.path}/r`], env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /invalid endpoint "dir:relative\/path": the path must be absolute/);
      const mixed = await ferry(['replicate', `dir:${d.path}/s`, 'zfs:pool/x'], env);
      assert.equal(mixed.code, 2);
      assert.match(mixed.stderr, /same driver/);
      const badName = await ferry(['snapshot', `dir:${d.path}/s`, '--name', 'a;b'], env);
      assert.equal(badName.code, 2);
      assert.match(badName.stderr, /a;b/);
      assert.equal(lastJson((await ferry(['list', `dir:${d.path}/s`, '--json'], env)).stdout)[0].versions.length, 1, 'nothing was created');
    } finally {
      d.remove();
    }
  });

  it('ferry destroy ENDPOINT FS@SNAP: destroys that snapshot only and says which; bad input exit 2, an unknown snapshot exit 3', async () => {
    const d = tempDir('clidestroy');
    try {
      const ep = `dir:${d.path}/s`;
      for (const fs of ['data', 'other']) {
        mkdirSync(join(d.path, 's', fs), { recursive: true });
        writeFileSync(join(d.path, 's', fs, 'f.txt'), `${fs}\n`);
      }
      for (const name of ['s1', 's2']) assert.equal((await ferry(['snapshot', ep, '--name', name], env)).code, 0);
      const versions = () => ferry(['list', ep, '--json'], env).then((r) => Object.fromEntries(lastJson(r.stdout).map((f: { filesystem: string; versions: { name: string; guid: string; createtxg: number }[] }) => [f.filesystem, f.versions])));
      const before = await versions();
      const s1 = before.data[0];

      const r = await ferry(['destroy', ep, 'data@s1'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `destroyed data@s1 guid ${s1.guid} createtxg ${s1.createtxg} on ${ep}\n`);
      const after = await versions();
      assert.deepEqual(after, { data: before.data.slice(1), other: before.other });
      assert.equal(readFileSync(join(d.path, 's', 'data', 'f.txt'), 'utf8'), 'data\n', 'the filesystem stays');

      const json = await ferry(['destroy', ep, 'other@s2', '--json'], env);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(lastJson(json.stdout), { endpoint: ep, filesystem: 'other', name: 's2', guid: before.other[1].guid, createtxg: before.other[1].createtxg });

      const unknown = await ferry(['destroy', ep, 'data@s1'], env);
      assert.equal(unknown.code, 3);
      assert.match(unknown.stderr, /snapshot data@s1 does not exist/);
      for (const [spec, message] of [['data', /expected <filesystem>@<snapshot>, got "data"/], ['data@', /expected <filesystem>@<snapshot>/], ['@s2', /expected <filesystem>@<snapshot>/], ['data@s2@x', /expected <filesystem>@<snapshot>/], ['data@a;b', /invalid snapshot name "a;b"/], ['../x@s2', /invalid filesystem name "\.\.\/x"/]] as const) {
        const bad = await ferry(['destroy', ep, spec], env);
        assert.equal(bad.code, 2, `${spec}: ${bad.stderr}`);
        assert.match(bad.stderr, message, spec);
      }
      assert.equal((await ferry(['destroy', 'dir:relative', 'data@s2'], env)).code, 2);
      assert.deepEqual(await versions(), { data: before.data.slice(1), other: before.other.slice(0, 1) }, 'refused commands destroyed nothing');
    } finally {
      d.remove();
    }
  });

  it('ferry watch --json --from 0 prints every committed transition, one JSON object per line', async () => {
    const child = spawn(process.execPath, ['bin/ferry.mjs', 'watch', '--json', '--from', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const deadline = Date.now() + 20_000;
    // earlier tests in this file committed runs: wait for their final transitions to show
    while (!out.includes('"to":"Completed"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    const events = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(events.length > 5);
    assert.ok(events.every((e) => e.id && e.machineId && e.kind && e.to && typeof e.version === 'number'));
    assert.ok(events.some((e) => e.kind === 'replication' && e.to === 'Completed'));
    const ids = events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate');
  });

  it('ferry archive --once, archive status and restore', async () => {
    const d = tempDir('cliarc');
    try {
      const { appendEntry, commit } = await import('../src/archiver/log-source/index.js');
      for (let lsn = 1; lsn <= 5; lsn++) await appendEntry(join(d.path, 'log'), 'main', 'p1', lsn, Buffer.from(`entry ${lsn}\n`));
      await commit(join(d.path, 'log'), 'main', 'p1', 4);
      const sink = `file://${d.path}/sink`;
      const r = await ferry(['archive', '--log', join(d.path, 'log'), '--sink', sink, '--once', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lastJson(r.stdout).archived, 4, 'the uncommitted entry 5 is not archived');
      const status = lastJson((await ferry(['archive', 'status', '--json'], env)).stdout);
      const p1 = status.partitions.find((p: { partition: string }) => p.partition === 'p1');
      assert.deepEqual([p1.state, p1.nextLsn, p1.highWaterMark], ['Idle', 5, 4]);
      const restored = await ferry(['restore', '--sink', sink, '--storage', 'main', '--partition', 'p1', '--into', join(d.path, 'out'), '--json'], env);
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(lastJson(restored.stdout), { restored: 4, firstLsn: 1, lastLsn: 4 });
      assert.equal(readFileSync(join(d.path, 'out', '00000000000000000003'), 'utf8'), 'entry 3\n');
      const missing = await ferry(['archive', '--log', join(d.path, 'log')], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--sink <url> is required/);
    } finally {
      d.remove();
    }
  });

  it('ferry archive keeps watching: a commit is archived at once, without waiting for the rescan interval', async () => {
    const d = tempDir('cliwatch');
    const { appendEntry, commit } = await import('../src/archiver/log-source/index.js');
    const log = join(d.path, 'log');
    await appendEntry(log, 'main', 'w1', 1, Buffer.from('one'));
    await commit(log, 'main', 'w1', 1);
    const child = spawn(process.execPath, ['bin/ferry.mjs', '--key-prefix', 'watchtest', 'archive', '--log', log, '--sink', `file://${d.path}/sink`, '--interval', '3600', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const key = (lsn: number) => join(d.path, 'sink', 'main', 'w1', `${String(lsn).padStart(20, '0')}.tar`);
    try {
      const deadline = Date.now() + 20_000;
      while (!existsSync(key(1)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(key(1)), 'the first entry was archived');
      await appendEntry(log, 'main', 'w1', 2, Buffer.from('two'));
      await commit(log, 'main', 'w1', 2);
      const deadline2 = Date.now() + 10_000;
      while (!existsSync(key(2)) && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(key(2)), 'the committed entry was archived without a rescan');
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      d.remove();
    }
    assert.equal(lastJson(out).archived, 2);
  });

  it('without REDIS_URL: starts an embedded redis-server, says so, and stops it on exit', async () => {
    const d = tempDir('emb');
    try {
      const r = await ferry(['status', '--json'], { REDIS_URL: undefined, FERRY_STATE_DIR: d.path });
      assert.equal(r.code, 0, r.stderr);
      const m = /embedded redis-server on 127\.0\.0\.1:(\d+) \(pid (\d+)\)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.throws(() => process.kill(Number(m[2]), 0), 'the embedded redis-server was stopped');
      assert.equal(existsSync(join(d.path, 'redis', 'appendonlydir')), true, 'AOF is on');
    } finally {
      d.remove();
    }
  });

  it('without redis-server on PATH: one clear line saying what to do', async () => {
    const empty = tempDir('path');
    try {
      const r = await ferry(['status'], { REDIS_URL: undefined, PATH: empty.path, FERRY_STATE_DIR: '/nonexistent-ferry-state' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /redis-server was not found on PATH.*apt-get install -y redis-server.*REDIS_URL/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    } finally {
      empty.remove();
    }
  });
});
