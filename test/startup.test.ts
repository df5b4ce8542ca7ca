import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

/**
 * Fast start (bench/startup.bench.ts measures it): every command loads only what it uses, and
 * bin/ferry.mjs runs the compiled tree of `npm ci` (dist/) only while it is complete and fresh.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RECORDER = join(ROOT, 'test/fixtures/record-imports.mjs');

/** The files and packages `ferry ...args` imported (from source, through tsx), and its result. */
async function imports(temp: string, tag: string, args: string[], redisUrl = 'redis://127.0.0.1:1'): Promise<{ code: number | null; stdout: string; stderr: string; urls: string[] }> {
  const file = join(temp, `${tag}.imports`);
  writeFileSync(file, '');
  const r = await runProcess(process.execPath, ['--import', RECORDER, 'bin/ferry.mjs', ...args], {
    env: { RECORD_IMPORTS: file, FERRY_FROM_SOURCE: '1', FERRY_LOG_LEVEL: 'warn', REDIS_URL: redisUrl },
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, urls: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

const loaded = (urls: string[], re: RegExp) => urls.filter((u) => re.test(u));
// BullMQ and ioredis are required (not ES-imported) through these two modules: they are what shows
const QUEUES = /\/node_modules\/(bullmq|ioredis)\/|\/src\/util\/(bullmq|ioredis)\.ts/;
/** what a command that only reads runs must not load: the Engine's runtime, BullMQ, xstate, gRPC, any driver, the machines' effects */
const NOT_FOR_READS = /\/src\/(storage\/(?!endpoint-forms)|grpc\/|api\/|archiver\/|engine\/(engine|drain|dispatch|effect-runner|workers|queues)\.|util\/bullmq\.)|\/node_modules\/(@grpc|bullmq|xstate|prom-client)\//;

describe('fast start', () => {
  const temp = tempDir('startup');
  after(() => temp.remove());

  it('`ferry --help` loads commander and the command definitions only: no driver, no gRPC, no BullMQ, no xstate', { timeout: 60_000 }, async () => {
    const r = await imports(temp.path, 'help', ['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(loaded(r.urls, /\/src\/(storage\/(?!endpoint-forms)|grpc\/|engine\/|replication\/|archiver\/|api\/)|\/node_modules\/(@grpc|bullmq|ioredis|xstate|prom-client)\/|\/src\/util\/(bullmq|ioredis)\.ts/), []);
  });

  it('`ferry snapshot`, `list` and `destroy` on a local endpoint need neither BullMQ nor Redis (REDIS_URL points nowhere)', { timeout: 60_000 }, async () => {
    const ep = join(temp.path, 'ep');
    mkdirSync(join(ep, 'a'), { recursive: true });
    writeFileSync(join(ep, 'a', 'f.txt'), 'data\n');
    for (const [tag, args] of [['snapshot', ['snapshot', `dir:${ep}`, '--name', 's1']], ['list', ['list', `dir:${ep}`, '--json']], ['destroy', ['destroy', `dir:${ep}`, 'a@s1']]] as const) {
      const r = await imports(temp.path, tag, [...args]);
      assert.equal(r.code, 0, `${tag}: ${r.stderr}`);
      assert.deepEqual(loaded(r.urls, QUEUES), [], `${tag} loaded no queue or Redis client`);
      assert.ok(loaded(r.urls, /\/src\/storage\/dir\//).length > 0, `${tag} used the dir driver`);
    }
  });

  it('`ferry status`, `status RUN` and `status --job` against a running Redis read the records with plain Redis commands: no BullMQ, no gRPC, no driver, no xstate', { timeout: 120_000 }, async () => {
    const redis = await startTestRedis();
    try {
      const env = { FERRY_FROM_SOURCE: '1', FERRY_LOG_LEVEL: 'warn', REDIS_URL: redis.url };
      const sender = join(temp.path, 'status-a');
      const receiver = join(temp.path, 'status-b');
      mkdirSync(join(sender, 'fs1'), { recursive: true });
      mkdirSync(receiver);
      writeFileSync(join(sender, 'fs1', 'f.txt'), 'data\n');
      const snap = await runProcess(process.execPath, ['bin/ferry.mjs', 'snapshot', `dir:${sender}`, '--name', 's1'], { env });
      assert.equal(snap.code, 0, snap.stderr);
      // a run to read, by the full app: a replication and a job's invocation
      const rep = await runProcess(process.execPath, ['bin/ferry.mjs', 'replicate', `dir:${sender}`, `dir:${receiver}`, '--json'], { env });
      assert.equal(rep.code, 0, rep.stderr);
      const runId = JSON.parse(rep.stdout.trim().split('\n').pop()!).id as string;
      const job = await runProcess(process.execPath, ['bin/ferry.mjs', 'job', 'create', 'nightly', '--sender', `dir:${sender}`, '--receiver', `dir:${receiver}`], { env });
      assert.equal(job.code, 0, job.stderr);

      const list = await imports(temp.path, 'status', ['status', '--json'], redis.url);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(JSON.parse(list.stdout).runs.map((r: { id: string; state: string }) => [r.id, r.state]), [[runId, 'Completed']]);
      const one = await imports(temp.path, 'status-run', ['status', runId, '--json'], redis.url);
      assert.equal(one.code, 0, one.stderr);
      assert.deepEqual(JSON.parse(one.stdout).filesystems.map((f: { name: string; state: string }) => [f.name, f.state]), [['fs1', 'Completed']]);
      const ofJob = await imports(temp.path, 'status-job', ['status', '--job', 'nightly', '--json'], redis.url);
      assert.equal(ofJob.code, 0, ofJob.stderr);
      assert.deepEqual(JSON.parse(ofJob.stdout).runs, []);
      for (const [tag, r] of [['status', list], ['status RUN', one], ['status --job', ofJob]] as const) {
        assert.deepEqual(loaded(r.urls, NOT_FOR_READS), [], `${tag} loaded only what reading needs`);
        assert.ok(loaded(r.urls, /\/src\/util\/ioredis\.ts/).length > 0, `${tag} read Redis`);
      }
    } finally {
      await redis.stop();
    }
  });

  it('the registries load their effects when they first run: `ferry job list` opens the engine without the step runner, the pruning effects, the archiver\'s entry effect or the health probe', { timeout: 60_000 }, async () => {
    const redis = await startTestRedis();
    try {
      const r = await imports(temp.path, 'job-list', ['job', 'list', '--json'], redis.url);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(loaded(r.urls, /\/src\/engine\/engine\.ts$/).length > 0, 'the engine was opened');
      assert.deepEqual(loaded(r.urls, /\/src\/(replication\/(step-runner|pruning-effects)|archiver\/archive-entry|health\/(probe|gate))\.ts$/), []);
    } finally {
      await redis.stop();
    }
  });

  it('bin/ferry.mjs runs the bundle in dist/ while it is complete and newer than every source file, else the source through tsx', { timeout: 60_000 }, async () => {
    // a repository in miniature: the real launcher, a source main and a compiled one that say which they are
    const repo = join(temp.path, 'repo');
    for (const d of ['bin', 'src/cli', 'machines', 'proto', 'dist/src/cli', 'dist/bundle']) mkdirSync(join(repo, d), { recursive: true });
    copyFileSync(join(ROOT, 'bin/ferry.mjs'), join(repo, 'bin/ferry.mjs'));
    symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
    writeFileSync(join(repo, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(repo, 'src/cli/main.ts'), "const from: string = 'source';\nconsole.log(from);\n");
    writeFileSync(join(repo, 'dist/src/cli/main.js'), "console.log('compiled, not bundled');\n");
    writeFileSync(join(repo, 'dist/bundle/start.mjs'), "console.log('bundled');\n");
    const run = async (env: Record<string, string> = {}) => (await runProcess(process.execPath, [join(repo, 'bin/ferry.mjs')], { cwd: repo, env: { FERRY_FROM_SOURCE: '', ...env } })).stdout.trim();
    const past = new Date(Date.now() - 60_000);
    for (const d of ['src/cli/main.ts', 'src/cli', 'src', 'machines', 'proto']) utimesSync(join(repo, d), past, past);

    assert.equal(await run(), 'source', 'no BUILT: an incomplete build is not used');
    writeFileSync(join(repo, 'dist/BUILT'), 'complete\n');
    assert.equal(await run(), 'bundled', 'complete and fresh: the bundle');
    assert.equal(await run({ FERRY_FROM_SOURCE: '1' }), 'source', 'FERRY_FROM_SOURCE=1 (the tests) runs the source');
    writeFileSync(join(repo, 'machines/new.ts'), 'export {};\n');
    assert.equal(await run(), 'source', 'a source file newer than the build: stale');
  });
});
