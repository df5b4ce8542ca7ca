import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { checkConfigText } from '../src/config/check.js';
import type { ConfigRedis } from '../src/config/redis-section.js';
import { redisOptionsOf, type RedisFlags } from '../src/cli/redis-options.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { JobStore } from '../src/jobs/store.js';
import { createLogger } from '../src/util/logger.js';
import { openRedis } from '../src/util/redis.js';
import { runProcess, until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { serve, stop } from './helpers/serve.js';
import { tempDir } from './helpers/replication.js';

interface Result { code: number | null; stdout: string; stderr: string }

function ferry(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return runProcess(process.execPath, ['bin/ferry.mjs', ...args], { cwd: process.cwd(), env: { FERRY_LOG_LEVEL: 'warn', ...env } });
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

describe('ferry config check', () => {
  it('passes the commented example in the repository', async () => {
    const r = await ferry(['config', 'check', 'examples/ferry.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /examples\/ferry\.yaml: ok \(2 agents, 2 jobs, 2 archives\)/);
  });

  it('reports every problem of a broken file with its line and path, exit 2', async () => {
    const file = 'test/fixtures/config/broken.yaml';
    const r = await ferry(['config', 'check', file]);
    assert.equal(r.code, 2, r.stderr);
    const problems = r.stderr.trim().split('\n').slice(0, -1);
    // the fixture marks each line that holds a problem with "# error"
    const marked = readFileSync(file, 'utf8').split('\n').flatMap((l, i) => (/# error/.test(l) ? [i + 1] : []));
    const expected: Array<[number, string, RegExp]> = [
      [5, 'agents.backup.address', /is not host:port/],
      [6, 'agents.backup.endpionts', /unknown key "endpionts" \(did you mean "endpoints"\?\)/],
      [11, 'jobs.home.receivers[0].agent', /no agent named "bakup" .*did you mean "backup"/],
      [14, 'jobs.home.schedule.cron', /not a cron pattern/],
      [15, 'jobs["bad name"]', /not a name/],
      [21, 'jobs.regex.include_snapshots', /not a valid regular expression/],
      [22, 'jobs.regex.initial', /must be one of "most_recent", "all", "fail"/],
      [23, 'jobs.regex.retry.initial', /"5 seconds" is not a duration/],
      [24, 'jobs.relative', /missing required key "receivers"/],
      [25, 'jobs.relative.sender', /the path must be absolute/],
      [26, 'jobs.relative.recievers', /did you mean "receivers"/],
      [29, 'archives.wal.log', /absolute path/],
      [30, 'archives.wal.sink', /unsupported sink URL/],
      [31, 'archives.wal.consumer', /may only contain/],
      [32, 'wat', /unknown key "wat"/],
    ];
    assert.equal(problems.length, expected.length, r.stderr);
    for (const [line, path, message] of expected) {
      const hit = problems.find((p) => p.startsWith(`${file}:${line}:`) && p.includes(` ${path}: `));
      assert.ok(hit, `no problem at line ${line} for ${path} in:\n${r.stderr}`);
      assert.match(hit, message);
    }
    // every marked line has its problem (line 24 is the key of the job that lacks receivers)
    for (const line of marked) assert.ok(problems.some((p) => p.startsWith(`${file}:${line}:`) || (line === 26 && p.startsWith(`${file}:24:`))), `line ${line} is marked but has no problem`);
    assert.match(r.stderr.trim().split('\n').pop()!, /15 problems$/);
  });

  it('reports a syntax error and a duplicate key with their lines', () => {
    const dup = checkConfigText('jobs:\n  a:\n    sender: dir:/a\n    receivers: [dir:/b]\n  a:\n    sender: dir:/c\n    receivers: [dir:/d]\n');
    assert.equal(dup.desired, null);
    assert.equal(dup.problems[0].line, 5);
    assert.match(dup.problems[0].message, /unique/);
    const broken = checkConfigText('jobs:\n  a: [unclosed\n');
    assert.equal(broken.desired, null);
    assert.ok(broken.problems.length >= 1 && broken.problems.every((p) => p.line >= 2), JSON.stringify(broken.problems));
  });

  it('resolves agents, durations and defaults into the job specs the CLI would store', () => {
    const r = checkConfigText(`
agents:
  b: { address: "Backup.example:7001", tls: true }
jobs:
  j:
    sender: zfs:tank/a
    receivers: [{ agent: b, endpoint: zfs:pool/r }]
    schedule: { every: 1h30m }
    retry: { initial: 1s }
`);
    assert.deepEqual(r.problems, []);
    const [spec] = r.desired!.jobs;
    assert.deepEqual(spec.receivers, ['grpcs://Backup.example:7001/zfs:pool/r']);
    assert.deepEqual(spec.schedule, { everyMs: 5_400_000 });
    assert.deepEqual(spec.retry, { initialMs: 1000, maxMs: 300_000, maxAttempts: 10 });
    assert.equal(spec.initial, 'most_recent');
  });
});

describe('ferry apply and ferry config export', () => {
  let redis: EmbeddedRedis;
  let conn: Redis;
  let d: { path: string; remove(): void };
  const prefix = `cfg${process.pid}`;
  let env: Record<string, string>;
  let jobs: JobStore;
  let scheduler: JobScheduler;

  before(async () => {
    redis = await startTestRedis();
    env = { REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state' };
    conn = openRedis(redis.url);
    jobs = new JobStore(conn, prefix);
    scheduler = new JobScheduler(conn, prefix, createLogger({ level: 'silent' }));
    d = tempDir('config');
  });
  after(async () => {
    await scheduler.close();
    conn.disconnect();
    await redis.stop();
    d.remove();
  });

  const file = () => join(d.path, 'ferry.yaml');
  const writeConfig = (jobsYaml: string) => writeFileSync(file(), `version: 1\njobs:\n${jobsYaml}`);
  const job = (name: string, every: string, extra = '') => `  ${name}:\n    sender: dir:${d.path}/s\n    receivers: [dir:${d.path}/r-${name}]\n    schedule: { every: ${every} }\n${extra}`;
  const apply = (...args: string[]) => ferry(['--key-prefix', prefix, 'apply', file(), '--json', ...args], env);
  const redisState = async () => {
    const all = await jobs.list();
    return Promise.all(all.map(async (j) => ({ spec: j.spec, scheduler: (await scheduler.queue.getJobScheduler(j.spec.name))?.every ?? null })));
  };

  it('creates, updates and deletes the jobs it manages with their schedules; --dry-run and a second apply change nothing', async () => {
    // a job made by hand: apply leaves it alone
    await ferry(['--key-prefix', prefix, 'job', 'create', 'by-hand', '--sender', `dir:${d.path}/s`, '--receiver', `dir:${d.path}/h`], env);
    writeConfig(job('a', '10m') + job('b', '1h'));

    const dry = await apply('--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(lastJson(dry.stdout).changes.map((c: { op: string; name: string }) => `${c.op} ${c.name}`), ['create a', 'create b']);
    assert.deepEqual((await redisState()).map((j) => j.spec.name), ['by-hand'], 'a dry run writes nothing');

    const first = lastJson((await apply()).stdout);
    assert.deepEqual(first.changes.map((c: { op: string; name: string }) => `${c.op} ${c.name}`), ['create a', 'create b']);
    assert.deepEqual(first.unmanaged, ['by-hand']);
    let state = await redisState();
    assert.deepEqual(state.map((j) => [j.spec.name, j.scheduler]), [['a', 600_000], ['b', 3_600_000], ['by-hand', null]]);

    const again = await apply();
    assert.deepEqual(lastJson(again.stdout).changes, [], 'the second apply changes nothing');
    const text = await ferry(['--key-prefix', prefix, 'apply', file()], env);
    assert.match(text.stdout, /^no changes \(2 jobs as in the file\)/m);

    // b's schedule changes, a goes away, c comes
    writeConfig(job('b', '2h') + job('c', '5m'));
    const second = lastJson((await apply()).stdout);
    assert.deepEqual(second.changes.map((c: { op: string; name: string }) => `${c.op} ${c.name}`), ['update b', 'create c', 'delete a']);
    assert.match(second.changes[0].details[0], /schedule: \{"everyMs":3600000\} -> \{"everyMs":7200000\}/);
    state = await redisState();
    assert.deepEqual(state.map((j) => [j.spec.name, j.scheduler]), [['b', 7_200_000], ['by-hand', null], ['c', 300_000]]);
    assert.equal(await scheduler.queue.getJobScheduler('a'), undefined, "a's schedule is gone with it");

    // a schedule lost behind apply's back is re-created
    await scheduler.remove('c');
    const repair = lastJson((await apply()).stdout);
    assert.deepEqual(repair.changes.map((c: { what: string; name: string }) => `${c.what} ${c.name}`), ['schedule c']);
    assert.equal((await scheduler.queue.getJobScheduler('c'))?.every, 300_000);

    // --prune deletes the hand-made job too
    const pruned = lastJson((await apply('--prune')).stdout);
    assert.deepEqual(pruned.changes.map((c: { op: string; name: string }) => `${c.op} ${c.name}`), ['delete by-hand']);
    assert.deepEqual((await redisState()).map((j) => j.spec.name), ['b', 'c']);
  });

  it('refuses a file with problems before touching Redis', async () => {
    const before = await redisState();
    writeConfig(job('b', '2h') + job('x', 'soon'));
    const r = await apply();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /jobs\.x\.schedule\.every: "soon" is not a duration/);
    assert.deepEqual(await redisState(), before);
  });

  it('export round trip: the export passes check, and applying it changes nothing', async () => {
    writeFileSync(file(), `version: 1
agents:
  far: { address: "127.0.0.1:7999" }
jobs:
${job('b', '2h')}  remote:
    sender: dir:${d.path}/s
    receivers: [{ agent: far, endpoint: dir:/srv/r }]
    schedule: { cron: "0 3 * * *", timezone: Europe/Berlin }
    include_snapshots: "^ferry_"
archives:
  wal: { log: ${d.path}/wal, sink: "file://${d.path}/sink", interval: 10s }
`);
    assert.equal((await apply()).code, 0);
    const exported = join(d.path, 'exported.yaml');
    const ex = await ferry(['--key-prefix', prefix, 'config', 'export', '--output', exported], env);
    assert.equal(ex.code, 0, ex.stderr);
    const text = readFileSync(exported, 'utf8');
    assert.match(text, /agent: far/, 'agent endpoints are written by name');
    assert.match(text, /every: 2h/);
    const check = await ferry(['config', 'check', exported]);
    assert.equal(check.code, 0, check.stderr);
    const r = await ferry(['--key-prefix', prefix, 'apply', exported, '--json'], env);
    assert.deepEqual(lastJson(r.stdout).changes, [], r.stdout);
    assert.deepEqual(lastJson(r.stdout).unmanaged, []);
  });
});

describe('ferry serve --config', () => {
  let redis: EmbeddedRedis;
  let conn: Redis;
  let d: { path: string; remove(): void };
  before(async () => {
    redis = await startTestRedis();
    conn = openRedis(redis.url);
    d = tempDir('serve-config');
  });
  after(async () => {
    conn.disconnect();
    await redis.stop();
    d.remove();
  });

  it('applies the file on start and again on SIGHUP; a broken file on SIGHUP changes nothing', async () => {
    const prefix = `srvcfg${process.pid}`;
    const jobs = new JobStore(conn, prefix);
    const file = join(d.path, 'ferry.yaml');
    // a cron that does not fire during the test
    const write = (names: string[]) => writeFileSync(file, `jobs:\n${names.map((n) => `  ${n}:\n    sender: dir:${d.path}/s\n    receivers: [dir:${d.path}/r-${n}]\n    schedule: { cron: "0 0 1 1 *" }\n`).join('')}`);
    write(['one']);
    const served = await serve(['--key-prefix', prefix, '--no-metrics', '--config', file], { REDIS_URL: redis.url });
    try {
      assert.match(served.out(), /\+ job one/, served.err());
      assert.deepEqual((await jobs.list()).map((j) => j.spec.name), ['one']);

      write(['one', 'two']);
      served.child.kill('SIGHUP');
      await until('the SIGHUP apply', () => served.out().includes('+ job two'), 30_000);
      assert.deepEqual((await jobs.list()).map((j) => j.spec.name), ['one', 'two']);

      writeFileSync(file, 'jobs:\n  three: { sender: dir:relative }\n');
      served.child.kill('SIGHUP');
      await until('the refused SIGHUP apply', () => served.out().includes('not applied'), 30_000);
      assert.match(served.out(), /jobs\.three/);
      assert.deepEqual((await jobs.list()).map((j) => j.spec.name), ['one', 'two'], 'a broken file changes nothing');
      assert.equal(served.child.exitCode, null, 'serve keeps running');
    } finally {
      assert.equal(await stop(served), 0, served.err());
    }
  });

  it('refuses to start with a broken file (exit 2), before reaching Redis', async () => {
    const file = join(d.path, 'broken.yaml');
    writeFileSync(file, 'jobs:\n  j: { sender: dir:/a, receivers: [dir:/b], schedule: { every: 10m, cron: "* * * * *" } }\n');
    const r = await ferry(['serve', '--no-metrics', '--config', file], { REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /broken\.yaml:2:\d+: jobs\.j\.schedule: give every or cron, not both/);
  });
});

describe('the redis: section (docs/config.md, docs/ha.md)', () => {
  const problemsOf = (yaml: string) => checkConfigText(yaml).problems.map((p) => `${p.line} ${p.path}: ${p.message}`);

  it('takes the keys of the REDIS_* variables and the commit wait options', () => {
    const sentinel = checkConfigText(`
redis:
  sentinels: [10.0.0.1:26379, "[::1]:26380"]
  sentinel_master: ferry
  username: ferry
  password_file: /etc/ferry/redis-password
  sentinel_username: watcher
  sentinel_password_file: /etc/ferry/sentinel-password
  tls: true
  min_replicas: 1
  replica_timeout: 2s
  wait: 1m
`);
    assert.deepEqual(sentinel.problems, []);
    assert.deepEqual(sentinel.desired!.redis, {
      settings: {
        REDIS_SENTINELS: '10.0.0.1:26379,[::1]:26380', REDIS_SENTINEL_MASTER: 'ferry', REDIS_USERNAME: 'ferry', REDIS_PASSWORD_FILE: '/etc/ferry/redis-password',
        REDIS_SENTINEL_USERNAME: 'watcher', REDIS_SENTINEL_PASSWORD_FILE: '/etc/ferry/sentinel-password', REDIS_TLS: '1',
      },
      minReplicas: 1, replicaTimeoutMs: 2000, waitMs: 60_000,
    });
    const url = checkConfigText('redis: { url: "rediss://redis.example:6380/2", min_replicas: auto }\n');
    assert.deepEqual(url.desired!.redis, { settings: { REDIS_URL: 'rediss://redis.example:6380/2' }, minReplicas: 'auto' });
    assert.equal(checkConfigText('jobs: {}\n').desired!.redis, null, 'no section: nothing from the file');
  });

  it('refuses an inline password and bad values, each with its field', () => {
    const problems = problemsOf(`redis:
  url: redis://:hunter2@h:6379
  password: hunter2
  sentinel_password: x
  min_replicas: sometimes
  wait: soon
  sentinel_master: m
  pasword_file: /x
`);
    assert.deepEqual(problems, [
      '2 redis.url: carries a password: give it in a file with password_file',
      '3 redis.password: a password is not taken inline (the file is reviewed and versioned): put it in a file readable only by ferry and give password_file',
      '4 redis.sentinel_password: a password is not taken inline (the file is reviewed and versioned): put it in a file readable only by ferry and give sentinel_password_file',
      '5 redis.min_replicas: "sometimes": give a whole number ≥ 0 or "auto"',
      '6 redis.wait: "soon" is not a duration: 30s, 10m, 1h30m, 500ms',
      '7 redis.sentinel_master: only used with sentinels',
      '8 redis.pasword_file: unknown key "pasword_file" (did you mean "password_file"?); allowed here: url, sentinels, sentinel_master, username, password_file, sentinel_username, sentinel_password_file, tls, min_replicas, replica_timeout, wait',
    ]);
    assert.deepEqual(problemsOf('redis:\n  url: redis://h:1\n  sentinels: [a:1]\n  sentinel_master: m\n'), ['3 redis.sentinels: give either url or sentinels (with sentinel_master), not both']);
    assert.deepEqual(problemsOf('redis:\n  sentinels: a:1,b\n'), [
      '2 redis.sentinels: expected host:port, got "b"',
      '2 redis.sentinels: sentinel_master is missing: the master group name the sentinels monitor (sentinel monitor NAME …)',
    ]);
    assert.deepEqual(problemsOf('redis:\n  url: http://h:1\n  password_file: secret.txt\n  min_replicas: -1\n'), [
      '2 redis.url: scheme http: not supported: expected redis:// or rediss://',
      '3 redis.password_file: "secret.txt": give an absolute path',
      '4 redis.min_replicas: must be >= 0',
    ]);
  });

  it('precedence: a flag given > its environment variable > the file > the default', () => {
    const defaults: RedisFlags = { redisWaitMs: 30_000, minReplicas: 'auto', replicaTimeoutMs: 1000 };
    const none = () => false;
    const file: ConfigRedis = { settings: { REDIS_SENTINELS: 's:1', REDIS_SENTINEL_MASTER: 'm', REDIS_USERNAME: 'from-file' }, minReplicas: 1, replicaTimeoutMs: 5000, waitMs: 2000 };
    assert.deepEqual(redisOptionsOf(defaults, none, {}, file), {
      redis: file.settings, redisWaitMs: 2000, replicas: { minReplicas: 1, timeoutMs: 5000 },
    });
    // the environment names a URL: the file's Sentinel settings go, its username stays
    assert.deepEqual(redisOptionsOf(defaults, none, { REDIS_URL: 'redis://env:1' }, file).redis, { REDIS_USERNAME: 'from-file', REDIS_URL: 'redis://env:1' });
    // a flag over both; the options with defaults: the flag counts only when given
    const flags: RedisFlags = { ...defaults, redisUrl: 'redis://flag:1', redisUsername: 'from-flag', minReplicas: 0 };
    const r = redisOptionsOf(flags, (f) => f === 'minReplicas', { REDIS_URL: 'redis://env:1', REDIS_USERNAME: 'from-env' }, file);
    assert.deepEqual(r.redis, { REDIS_URL: 'redis://flag:1', REDIS_USERNAME: 'from-flag' });
    assert.deepEqual(r.replicas, { minReplicas: 0, timeoutMs: 5000 });
    assert.equal(r.redisWaitMs, 2000);
    // sentinels from the environment replace the file's URL
    assert.deepEqual(redisOptionsOf(defaults, none, { REDIS_SENTINELS: 'e:1' }, { settings: { REDIS_URL: 'redis://file:1' } }).redis, { REDIS_SENTINELS: 'e:1' });
    assert.throws(() => redisOptionsOf({ ...defaults, redisUrl: 'redis://u:pw@h:1' }, none, {}, null), /--redis-url: carries a password/);
  });

  it('serve --config connects where its redis: section says; apply takes the environment over the file', async () => {
    const redis = await startTestRedis();
    const conn = openRedis(redis.url);
    const d = tempDir('config-redis');
    const prefix = `cfgredis${process.pid}`;
    const jobs = new JobStore(conn, prefix);
    // no REDIS_* in the environment, and no state dir to start an embedded redis-server in: only the file names Redis
    const bare = { REDIS_URL: undefined, REDIS_SENTINELS: undefined, FERRY_STATE_DIR: '/nonexistent-ferry-state' };
    const job = (name: string) => `jobs:\n  ${name}:\n    sender: dir:${d.path}/s\n    receivers: [dir:${d.path}/r]\n`;
    try {
      const file = join(d.path, 'serve.yaml');
      writeFileSync(file, `redis:\n  url: ${redis.url}\n  min_replicas: 0\n${job('from-serve')}`);
      const served = await serve(['--key-prefix', prefix, '--no-metrics', '--config', file], bare, 60_000);
      try {
        assert.match(served.out(), /\+ job from-serve/, served.err());
        assert.deepEqual((await jobs.list()).map((j) => j.spec.name), ['from-serve']);
        const clients = String(await conn.client('LIST'));
        assert.match(clients, /name=ferry@/, 'serve is connected to the Redis of the file');
      } finally {
        assert.equal(await stop(served), 0, served.err());
      }

      // the file names a Redis nobody listens on (and waits 1 s for it); the environment's wins
      const applied = join(d.path, 'apply.yaml');
      writeFileSync(applied, `redis:\n  url: redis://127.0.0.1:1\n  wait: 1s\n${job('from-apply')}`);
      const viaEnv = await ferry(['--key-prefix', prefix, 'apply', applied], { ...bare, REDIS_URL: redis.url });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      assert.ok((await jobs.list()).some((j) => j.spec.name === 'from-apply'));
      // and without the environment the file's is used: unreachable, so status 3 after its wait of 1 s
      const viaFile = await ferry(['--key-prefix', prefix, 'apply', applied], bare);
      assert.equal(viaFile.code, 3, viaFile.stderr);
      assert.match(viaFile.stderr, /Redis unavailable \(redis:\/\/127\.0\.0\.1:1\) after 1 s/);
    } finally {
      conn.disconnect();
      await redis.stop();
      d.remove();
    }
  });
});
