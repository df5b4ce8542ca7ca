import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runProcess } from './helpers/processes.js';
import { tempDir } from './helpers/replication.js';

/**
 * Fast start (bench/startup.bench.ts measures it): every command loads only what it uses, and
 * bin/ferry.mjs runs the compiled tree of `npm ci` (dist/) only while it is complete and fresh.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RECORDER = join(ROOT, 'test/fixtures/record-imports.mjs');

/** The files and packages `ferry ...args` imported (from source, through tsx), and its result. */
async function imports(temp: string, tag: string, args: string[]): Promise<{ code: number | null; stderr: string; urls: string[] }> {
  const file = join(temp, `${tag}.imports`);
  writeFileSync(file, '');
  const r = await runProcess(process.execPath, ['--import', RECORDER, 'bin/ferry.mjs', ...args], {
    env: { RECORD_IMPORTS: file, FERRY_FROM_SOURCE: '1', FERRY_LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:1' },
  });
  return { code: r.code, stderr: r.stderr, urls: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

const loaded = (urls: string[], re: RegExp) => urls.filter((u) => re.test(u));
// BullMQ and ioredis are required (not ES-imported) through these two modules: they are what shows
const QUEUES = /\/node_modules\/(bullmq|ioredis)\/|\/src\/util\/(bullmq|ioredis)\.ts/;

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

  it('bin/ferry.mjs runs dist/ while it is complete and newer than every source file, else the source through tsx', { timeout: 60_000 }, async () => {
    // a repository in miniature: the real launcher, a source main and a compiled one that say which they are
    const repo = join(temp.path, 'repo');
    for (const d of ['bin', 'src/cli', 'machines', 'proto', 'dist/src/cli']) mkdirSync(join(repo, d), { recursive: true });
    copyFileSync(join(ROOT, 'bin/ferry.mjs'), join(repo, 'bin/ferry.mjs'));
    symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
    writeFileSync(join(repo, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(repo, 'src/cli/main.ts'), "const from: string = 'source';\nconsole.log(from);\n");
    writeFileSync(join(repo, 'dist/src/cli/main.js'), "console.log('compiled');\n");
    const run = async (env: Record<string, string> = {}) => (await runProcess(process.execPath, [join(repo, 'bin/ferry.mjs')], { cwd: repo, env: { FERRY_FROM_SOURCE: '', ...env } })).stdout.trim();
    const past = new Date(Date.now() - 60_000);
    for (const d of ['src/cli/main.ts', 'src/cli', 'src', 'machines', 'proto']) utimesSync(join(repo, d), past, past);

    assert.equal(await run(), 'source', 'no BUILT: an incomplete build is not used');
    writeFileSync(join(repo, 'dist/BUILT'), 'complete\n');
    assert.equal(await run(), 'compiled', 'complete and fresh');
    assert.equal(await run({ FERRY_FROM_SOURCE: '1' }), 'source', 'FERRY_FROM_SOURCE=1 (the tests) runs the source');
    writeFileSync(join(repo, 'machines/new.ts'), 'export {};\n');
    assert.equal(await run(), 'source', 'a source file newer than the build: stale');
  });
});
