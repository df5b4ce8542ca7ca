import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { runProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

/**
 * scripts/build.mjs (npm run build): the compiled tree outside the repository holds no TypeScript,
 * so its bin/ferry.mjs can only work by running the compiled JavaScript, Lua scripts and protos
 * included (ferry demo goes through the engine).
 */

const RECORDER = fileURLToPath(new URL('./fixtures/record-imports.mjs', import.meta.url));
const node = (args: string[], env: Record<string, string> = {}) => runProcess(process.execPath, args, { env: { FERRY_LOG_LEVEL: 'warn', ...env } });

describe('npm run build: a compiled tree that runs without tsx', () => {
  let redis: EmbeddedRedis;
  const temp = tempDir('build');
  before(async () => { redis = await startTestRedis(); });
  after(async () => {
    await redis.stop();
    temp.remove();
  });

  // two builds and five runs of the CLI
  it('compiles, and the compiled ferry runs the demo through the engine', { timeout: 600_000 }, async () => {
    const out = join(temp.path, 'tree');
    const built = await node(['scripts/build.mjs', '--out', out]);
    assert.equal(built.code, 0, built.stderr);
    assert.ok(existsSync(join(out, 'src/cli/main.js')) && !existsSync(join(out, 'src/cli/main.ts')), 'JavaScript, no TypeScript');
    assert.ok(existsSync(join(out, 'src/engine/commands/commit-5.lua')), 'the Lua scripts are copied');
    assert.ok(existsSync(join(out, 'proto')), 'the protos are copied');
    assert.ok(!existsSync(join(out, 'test')), 'no tests without --tests');

    assert.ok(existsSync(join(out, 'bundle/ferry.cjs')), 'the CLI is bundled');

    // the launcher starts the bundle: no module of the compiled tree is imported, yet everything
    // found beside a module (Lua scripts, package.json) is found
    const imports = join(temp.path, 'demo.imports');
    writeFileSync(imports, '');
    const cacheHome = join(temp.path, 'cache');
    const env = { REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state', XDG_CACHE_HOME: cacheHome };
    const demo = await node(['--import', RECORDER, join(out, 'bin/ferry.mjs'), 'demo', '--json'], { ...env, RECORD_IMPORTS: imports });
    assert.equal(demo.code, 0, demo.stderr);
    const urls = readFileSync(imports, 'utf8').split('\n').filter(Boolean);
    assert.ok(urls.some((u) => u.includes('/tree/bundle/start.mjs')), 'the bundle ran');
    assert.deepEqual(urls.filter((u) => /\/tree\/(src|machines)\//.test(u)), [], 'no module of the compiled tree was loaded');
    assert.deepEqual(urls.filter((u) => /\/node_modules\/(bullmq|ioredis|xstate|commander|pino)\//.test(u)), [], 'BullMQ, ioredis, xstate, commander and pino are in the bundle');

    // the compiled code is kept for the next run of the command; a cache V8 refuses is replaced
    const caches = () => readdirSync(join(cacheHome, 'ferry')).filter((f) => f.endsWith('-demo.v8'));
    assert.equal(caches().length, 1, 'the demo left its code cache');
    const cache = join(cacheHome, 'ferry', caches()[0]);
    writeFileSync(cache, 'not a code cache');
    const rerun = await node([join(out, 'bin/ferry.mjs'), 'demo', '--json'], env);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.ok(statSync(cache).size > 100_000, 'a refused cache is written afresh');
    // on a terminal the logs are pretty, written in the process: a pino transport's worker starts
    // from a file of pino's package, which the bundle does not have
    const tty = await runProcess('script', ['-qefc', `exec ${JSON.stringify(process.execPath)} ${join(out, 'bin/ferry.mjs')} --log-level debug demo`, '/dev/null'], { env: { ...env, SHELL: '/bin/sh' } });
    assert.equal(tty.code, 0, tty.stdout + tty.stderr);
    assert.match(tty.stdout, /DEBUG.*\(ferry\/\d+\): .*transition/, 'pino-pretty lines on the terminal');
    const version = await node([join(out, 'bin/ferry.mjs'), '--version']);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version, 'package.json is found from the bundle');
    const report = JSON.parse(demo.stdout.trim().split('\n').pop()!);
    assert.equal(report.full.state, 'Completed');
    assert.equal(report.incremental.state, 'Completed');

    // built again over its own earlier output, as the OpenZFS VM's tree and the suite's dist/ are:
    // transpiled by esbuild (other quotes than tsc's), with the tests, bundled the same
    const again = await node(['scripts/build.mjs', '--out', out, '--tests', '--transpile-only']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(existsSync(join(out, 'test/build.test.js')), '--tests compiles the tests');
    const againVersion = await node([join(out, 'bin/ferry.mjs'), '--version'], { XDG_CACHE_HOME: cacheHome });
    assert.equal(againVersion.code, 0, againVersion.stderr);
    assert.equal(againVersion.stdout.trim(), version.stdout.trim());
    assert.ok(readFileSync(join(out, 'bundle/ferry.cjs'), 'latin1').includes('moveToActive'), 'BullMQ is in the transpiled tree\'s bundle too');
  });

  it('refuses to overwrite a directory it did not build, and leaves it as it was', { timeout: 60_000 }, async () => {
    const dir = join(temp.path, 'mine');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'mine\n');
    const r = await node(['scripts/build.mjs', '--out', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /was not built by scripts\/build\.mjs; refusing to overwrite it/);
    assert.equal(readFileSync(join(dir, 'keep.txt'), 'utf8'), 'mine\n');
    assert.ok(!existsSync(join(dir, 'src')));
  });
});
