import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { runProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

/**
 * A cycle's start (`ferry snapshot` + `ferry replicate` on local endpoints, bench/peers.bench.ts):
 * what is loaded is only what the run uses. Checked by what is imported, never by time.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RECORDER = join(ROOT, 'test/fixtures/record-imports.mjs');

/** The file URLs `ferry ...args` resolved as ES imports (from source, through tsx), and its result. */
async function imports(temp: string, tag: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; urls: string[] }> {
  const file = join(temp, `${tag}.imports`);
  writeFileSync(file, '');
  const r = await runProcess(process.execPath, ['--import', RECORDER, 'bin/ferry.mjs', ...args], {
    env: { RECORD_IMPORTS: file, FERRY_FROM_SOURCE: '1', FERRY_LOG_LEVEL: 'warn', ...env },
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, urls: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

const loaded = (urls: string[], re: RegExp) => [...new Set(urls.filter((u) => re.test(u)))];

/** gRPC, protobufjs, the S3 SDK, and ferry's modules that exist only to talk to agents, log sources and sinks */
const REMOTE_AND_ARCHIVE = /\/node_modules\/(@grpc|protobufjs|@aws-sdk)\/|\/src\/(grpc\/(?!agent-target|unreachable)|storage\/remote\/driver|health\/probe|archiver\/(archive-entry|log-source|sinks|coordinator|open-log-source))/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
}

describe('cycle start', () => {
  const temp = tempDir('cycle-start');
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => {
    await redis?.stop();
    temp.remove();
  });

  it('BullMQ and ioredis are loaded with require in src/util/bullmq.ts and src/util/ioredis.ts only: an ES import of either lexes every file it re-exports', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      const rel = relative(ROOT, file);
      if (rel === 'src/util/bullmq.ts' || rel === 'src/util/ioredis.ts') continue;
      const text = readFileSync(file, 'utf8');
      // values, not types: `import type`, and `import { type X }` lists with types only, are erased
      for (const m of text.matchAll(/^(import|export)\s+(?!type\b)([^;]*?)\s+from\s+'(bullmq|ioredis)(\/[^']*)?'/gm)) {
        const names = /^\{([^}]*)\}$/.exec(m[2].trim());
        if (names && names[1].split(',').every((n) => /^\s*type\s/.test(n) || n.trim() === '')) continue;
        offenders.push(`${rel}: ${m[0]}`);
      }
      if (/import\(\s*'(bullmq|ioredis)'\s*\)/.test(text)) offenders.push(`${rel}: import('…')`);
    }
    assert.deepEqual(offenders, []);
  });

  it('`ferry replicate` on local endpoints loads no gRPC, no S3 SDK, no archiver log source or sink, BullMQ not as an ES module, and runs no reconciler pass at start', { timeout: 120_000 }, async () => {
    const src = join(temp.path, 'src');
    const dst = join(temp.path, 'dst');
    mkdirSync(join(src, 'a'), { recursive: true });
    mkdirSync(dst, { recursive: true });
    writeFileSync(join(src, 'a', 'f.txt'), 'data\n');
    const env = { REDIS_URL: redis.url, FERRY_STATE_DIR: join(temp.path, 'state') };
    const snap = await imports(temp.path, 'snapshot', ['snapshot', `dir:${src}`, '--name', 's1'], env);
    assert.equal(snap.code, 0, snap.stderr);
    assert.deepEqual(loaded(snap.urls, REMOTE_AND_ARCHIVE), [], 'ferry snapshot dir:');
    assert.deepEqual(loaded(snap.urls, /\/src\/util\/(bullmq|ioredis)\.ts|\/node_modules\/(bullmq|ioredis)\//), [], 'ferry snapshot dir: needs no queue and no Redis client');

    const rep = await imports(temp.path, 'replicate', ['replicate', `dir:${src}`, `dir:${dst}`, '--json'], env);
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(JSON.parse(rep.stdout.trim().split('\n').pop()!).state, 'Completed');
    assert.deepEqual(loaded(rep.urls, REMOTE_AND_ARCHIVE), [], 'ferry replicate dir: dir:');
    assert.deepEqual(loaded(rep.urls, /^file:.*\/node_modules\/(bullmq|ioredis)\//), [], 'BullMQ and ioredis come through require, not an ES import');
    assert.ok(loaded(rep.urls, /\/src\/util\/bullmq\.ts/).length > 0, 'the engine ran, on the required BullMQ');

    // a one-shot command's workers offer the reconciler's pass one interval after start, not at it:
    // a pass (a SCAN of every machine record) would have taken the lock for most of a minute
    const conn = new Redis(redis.url);
    try {
      assert.equal(await conn.exists('ferry:reconciler'), 0, 'no reconciler pass ran during ferry replicate');
    } finally {
      conn.disconnect();
    }
  });
});

