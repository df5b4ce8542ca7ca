import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { runProcess, type ProcessResult } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';
import { serve, stop } from './helpers/serve.js';
import { freePort } from '../src/cli/embedded-redis.js';

/** `ferry` the way a person runs it, on this test's Redis and key prefix. */
function ferry(env: Record<string, string>, args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, ['bin/ferry.mjs', '--key-prefix', 'prunecli', ...args], { cwd: process.cwd(), env: { FERRY_LOG_LEVEL: 'warn', ...env }, timeoutMs: 120_000 });
}

describe('ferry prune, job create --keep-*, and the dry runs', () => {
  let redis: EmbeddedRedis;
  let d: { path: string; remove(): void };
  let env: Record<string, string>;
  let sender: StorageDriver;
  let receiver: StorageDriver;
  const names = async (driver: StorageDriver) => (await driver.listVersions('a')).map((v) => v.name);

  before(async () => {
    redis = await startTestRedis();
    env = { REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state' };
    d = tempDir('prune-cli');
    mkdirSync(join(d.path, 's/a'), { recursive: true });
    mkdirSync(join(d.path, 'r'));
    writeFileSync(join(d.path, 's/a/f.txt'), 'data');
    sender = createDirDriver(join(d.path, 's'));
    receiver = createDirDriver(join(d.path, 'r'));
  });

  after(async () => {
    await redis?.stop();
    d?.remove();
  });

  it('replicate --dry-run prints the steps and sends nothing', async () => {
    await sender.snapshot(['a'], 'auto_1');
    await sender.snapshot(['a'], 'auto_2');
    const r = await ferry(env, ['replicate', sender.endpoint, receiver.endpoint, '--initial', 'all', '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const [v1, v2] = await sender.listVersions('a');
    const streamBytes = async (from: typeof v1 | null, to: typeof v1) => {
      let n = 0;
      for await (const chunk of (await sender.send('a', from, to)).stream) n += (chunk as Buffer).length;
      return n;
    };
    const sizes = [await streamBytes(null, v1), await streamBytes(v1, v2)];
    assert.deepEqual(plan.filesystems, [{ name: 'a', problem: null, steps: [
      { from: null, to: 'auto_1', intermediates: false, size: sizes[0] }, { from: 'auto_1', to: 'auto_2', intermediates: false, size: sizes[1] },
    ] }], 'each step with the exact size of its stream (the dir driver reads it from the manifests)');
    assert.deepEqual(await names(receiver), [], 'nothing was sent');
    const text = await ferry(env, ['replicate', sender.endpoint, receiver.endpoint, '--dry-run']);
    assert.match(text.stdout, /a: 1 step\n {4}full to @auto_2: \d+(\.\d)? (B|KiB)\n/);
  });

  it('job create takes the rules, job run --dry-run plans without taking a snapshot, prune --dry-run and prune do what they say', async () => {
    const create = await ferry(env, ['job', 'create', 'cli', '--sender', sender.endpoint, '--receiver', receiver.endpoint, '--snapshot-prefix', 'auto',
      '--keep-sender', 'last_n=1', '--keep-receivers', 'last_n=5', '--json']);
    assert.equal(create.code, 0, create.stderr);
    assert.deepEqual(JSON.parse(create.stdout).spec.retention, { sender: [{ type: 'last_n', count: 1 }], receivers: [{ type: 'last_n', count: 5 }] });
    const bad = await ferry(env, ['job', 'create', 'bad', '--sender', sender.endpoint, '--receiver', receiver.endpoint, '--keep-sender', 'grid=24x1q']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /retention\.sender\[0\]\.grid/);

    const dry = await ferry(env, ['job', 'run', 'cli', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.match(plan.snapshot, /^auto_\d{8}T\d{6}Z$/);
    assert.deepEqual(plan.replications[0].filesystems[0].steps.map((s: { to: string }) => s.to), ['auto_2']);
    assert.deepEqual(plan.prunings.map((p: { side: string; destroy: Array<{ name: string }> }) => [p.side, p.destroy.map((x) => x.name)]), [['sender', ['auto_1']], ['receiver', []]]);
    assert.deepEqual(await names(sender), ['auto_1', 'auto_2'], 'no snapshot taken, nothing destroyed');
    assert.deepEqual(await names(receiver), []);

    const wouldPrune = await ferry(env, ['prune', 'cli', '--dry-run']);
    assert.equal(wouldPrune.code, 0, wouldPrune.stderr);
    assert.match(wouldPrune.stdout, /sender dir:\S+ {2}Done \(dry run\): would destroy 1, kept 1\n {2}would destroy a@auto_1: /);
    assert.deepEqual(await names(sender), ['auto_1', 'auto_2']);

    const prune = await ferry(env, ['prune', 'cli', '--json']);
    assert.equal(prune.code, 0, prune.stderr);
    const report = JSON.parse(prune.stdout);
    assert.equal(report.state, 'Completed');
    assert.deepEqual(report.prunings[0].destroyed.map((x: { name: string }) => x.name), ['auto_1']);
    assert.deepEqual(await names(sender), ['auto_2']);

    const status = await ferry(env, ['status', report.runId]);
    assert.match(status.stdout, /prune sender dir:\S+: Done, destroyed 1, kept 1/);
  });

  it('prune --server: the same pruning through `ferry serve --grpc` (PruneJob, GetPruneReport)', async () => {
    await sender.snapshot(['a'], 'auto_3');
    const tokenFile = join(d.path, 'token');
    writeFileSync(tokenFile, 'prune-token-0123456789\n', { mode: 0o600 });
    const port = await freePort();
    const served = await serve(['--key-prefix', 'prunecli', '--grpc', `127.0.0.1:${port}`, '--token-file', tokenFile], env);
    try {
      const remote = ['--server', `127.0.0.1:${port}`, '--token-file', tokenFile];
      const dry = await ferry(env, ['prune', 'cli', '--dry-run', '--json', ...remote]);
      assert.equal(dry.code, 0, dry.stderr);
      const would = JSON.parse(dry.stdout);
      assert.equal(would.state, 'Completed');
      assert.deepEqual(would.prunings.map((p: { side: string; dryRun: boolean; destroyed: Array<{ name: string }> }) => [p.side, p.dryRun, p.destroyed.map((x) => x.name)]),
        [['sender', true, ['auto_2']], ['receiver', true, []]]);
      assert.ok(would.prunings[0].kept.some((k: { name: string; reasons: string[] }) => k.name === 'auto_3' && k.reasons.length > 0), JSON.stringify(would.prunings[0].kept));
      assert.deepEqual(await names(sender), ['auto_2', 'auto_3'], 'a dry run over --server destroys nothing');

      const text = await ferry(env, ['prune', 'cli', ...remote]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /sender dir:\S+ {2}Done: destroyed 1, kept 1\n {2}destroyed a@auto_2: /);
      assert.deepEqual(await names(sender), ['auto_3']);

      const none = await ferry(env, ['prune', 'nosuchjob', ...remote]);
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /nosuchjob/);
    } finally {
      await stop(served);
    }
  });
});
