import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../src/errors/index.js';
import { checkSendOptions } from '../src/replication/send-options.js';
import { validateReplicateOptions } from '../src/replication/runs.js';
import { planReplication } from '../src/replication/planner.js';
import { checkJobSpec } from '../src/jobs/spec.js';
import { checkConfigText } from '../src/config/check.js';
import { jobConfigOf } from '../src/config/export.js';
import { jobSpecFromMsg, jobSpecToMsg } from '../src/api/orchestrator-messages.js';
import { formatByteRate, parseByteRate } from '../src/util/bytes.js';
import { shareOfLimit } from '../machines/send-options.js';
import { throttledStreamCount, throttleStream, TokenBucket, type ThrottleClock } from '../src/util/throttle.js';
import { replicateStep } from '../src/replication/step-runner.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { createLogger } from '../src/util/logger.js';
import type { ReplicateStepInput } from '../machines/filesystem.js';
import type { EffectContext } from '../src/engine/types.js';
import { fastRetry, tempDir } from './helpers/replication.js';
import { jobsEngine } from './helpers/pruning.js';
import { startTestRedis } from './helpers/redis.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { invokeJob } from '../src/jobs/invoke.js';
import { validateJobSpec } from '../src/jobs/spec.js';

/** A clock that only moves when someone sleeps on it. */
function fakeClock(): ThrottleClock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return { slept, now: () => now, sleep: async (ms) => { slept.push(ms); now += ms; } };
}

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    return err.details.field as string;
  }
  return undefined;
}

describe('send options: checks, every entry point, and the throttle', () => {
  it('reads rates as a person types them and writes them back', () => {
    assert.equal(parseByteRate('10M', 'f'), 10 * 1024 * 1024);
    assert.equal(parseByteRate('512KiB/s', 'f'), 512 * 1024);
    assert.equal(parseByteRate('1.5G', 'f'), 1.5 * 1024 ** 3);
    assert.equal(parseByteRate(4096, 'f'), 4096);
    for (const bad of ['', 'fast', '10X', '-1', '0']) assert.equal(fieldOf(() => parseByteRate(bad, 'send.bandwidth_limit')), 'send.bandwidth_limit', bad);
    for (const rate of [10 * 1024 * 1024, 1536, 1500, 3 * 1024 ** 3]) assert.equal(parseByteRate(formatByteRate(rate), 'f'), rate);
  });

  it('checks the options and names the field of each problem', () => {
    assert.equal(checkSendOptions(undefined), undefined);
    assert.equal(checkSendOptions({ raw: false, receiveSet: [] }), undefined, 'nothing set: no options');
    assert.deepEqual(checkSendOptions({ raw: true, largeBlocks: true, receiveSet: ['readonly=on', 'ferry:note=a=b'], receiveExclude: ['mountpoint'], bandwidthLimit: '10M' }, 'zfs'), {
      raw: true, largeBlocks: true, receiveSet: ['readonly=on', 'ferry:note=a=b'], receiveExclude: ['mountpoint'], bandwidthLimit: 10 * 1024 * 1024,
    });
    const cases: Array<[Parameters<typeof checkSendOptions>[0], string]> = [
      [{ receiveSet: ['readonly'] }, 'send.receive_set[0]'],
      [{ receiveSet: ['readonly=on', 'Bad Name=1'] }, 'send.receive_set[1]'],
      [{ receiveSet: ['atime=off\n-F'] }, 'send.receive_set[0]'],
      [{ receiveExclude: ['mountpoint=/x'] }, 'send.receive_exclude[0]'],
      [{ receiveSet: ['readonly=on'], receiveExclude: ['readonly'] }, 'send.receive_exclude'],
      [{ bandwidthLimit: '100' }, 'send.bandwidth_limit'],
      [{ bandwidthLimit: 'lots' }, 'send.bandwidth_limit'],
      [{ raw: 'yes' as unknown as boolean }, 'send.raw'],
    ];
    for (const [input, field] of cases) assert.equal(fieldOf(() => checkSendOptions(input, 'zfs')), field, JSON.stringify(input));
  });

  it('refuses the zfs flags for dir endpoints and all but compressed for btrfs (a limit alone is fine), before anything is stored or started', async () => {
    assert.equal(fieldOf(() => checkSendOptions({ compressed: true }, 'dir')), 'send.compressed');
    assert.equal(fieldOf(() => checkSendOptions({ receiveExclude: ['mountpoint'] }, 'btrfs')), 'send.receive_exclude');
    assert.deepEqual(checkSendOptions({ bandwidthLimit: 2048 }, 'btrfs'), { bandwidthLimit: 2048 });
    // btrfs send --compressed-data
    assert.deepEqual(checkSendOptions({ compressed: true, bandwidthLimit: 2048 }, 'btrfs'), { compressed: true, bandwidthLimit: 2048 });
    for (const flag of ['raw', 'largeBlocks', 'properties', 'allowDecryptedSend'] as const) {
      assert.throws(() => checkSendOptions({ compressed: true, [flag]: true }, 'btrfs'), (e: unknown) => e instanceof InvalidArgumentError && /btrfs endpoints cannot honour it \(only send\.compressed and send\.bandwidth_limit apply to them\)/.test(e.message), flag);
    }
    assert.throws(() => checkSendOptions({ raw: true }, 'dir'), /dir endpoints cannot honour it \(only send\.bandwidth_limit applies to them\)/);

    const job = checkJobSpec({ name: 'j', sender: 'dir:/a', receivers: ['dir:/b'], send: { raw: true } });
    assert.deepEqual(job.problems.map((p) => p.field), ['send.raw']);
    const ok = checkJobSpec({ name: 'j', sender: 'zfs:p/a', receivers: ['zfs:q/b'], send: { raw: true, bandwidthLimit: '1M' } });
    assert.deepEqual(ok.spec?.send, { raw: true, bandwidthLimit: 1024 * 1024 });

    assert.equal(fieldOf(() => validateReplicateOptions({ sender: 'dir:/a', receiver: 'dir:/b', send: { properties: true } })), 'send.properties');
    assert.deepEqual(validateReplicateOptions({ sender: 'dir:/a', receiver: 'dir:/b', send: { bandwidthLimit: '4K' } }).send, { bandwidthLimit: 4096 });

    const d = tempDir('send-plan');
    try {
      mkdirSync(join(d.path, 's/a'), { recursive: true });
      mkdirSync(join(d.path, 'r'));
      const sender = createDirDriver(join(d.path, 's'));
      const receiver = createDirDriver(join(d.path, 'r'));
      await assert.rejects(planReplication({ sender, receiver, send: { largeBlocks: true } }), (e: unknown) => e instanceof InvalidArgumentError && e.details.field === 'send.large_blocks');
    } finally {
      d.remove();
    }
  });

  it('carries the options through the gRPC message and the config file, both ways', () => {
    const spec = checkJobSpec({ name: 'j', sender: 'zfs:p/a', receivers: ['zfs:q/b'], send: { compressed: true, receiveSet: ['readonly=on'], receiveExclude: ['mountpoint'], bandwidthLimit: '10M' } }).spec!;
    const back = checkJobSpec(jobSpecFromMsg(jobSpecToMsg(spec) as Parameters<typeof jobSpecFromMsg>[0]));
    assert.deepEqual(back.spec?.send, spec.send);
    assert.deepEqual(jobConfigOf(spec, {}).send, { compressed: true, receive_set: ['readonly=on'], receive_exclude: ['mountpoint'], bandwidth_limit: '10MiB/s' });
    // every flag, each on its own and all at once
    const flags = ['raw', 'compressed', 'largeBlocks', 'properties', 'allowDecryptedSend'] as const;
    for (const send of [...flags.map((f) => ({ [f]: true })), Object.fromEntries(flags.map((f) => [f, true]))]) {
      const flagged = checkJobSpec({ name: 'j', sender: 'zfs:p/a', receivers: ['zfs:q/b'], send }).spec!;
      assert.deepEqual(checkJobSpec(jobSpecFromMsg(jobSpecToMsg(flagged) as Parameters<typeof jobSpecFromMsg>[0])).spec?.send, send, JSON.stringify(send));
    }

    const file = (send: string) => checkConfigText(`jobs:\n  j:\n    sender: zfs:p/a\n    receivers: [zfs:q/b]\n    send:\n${send}`);
    const good = file('      raw: true\n      receive_set: [readonly=on]\n      bandwidth_limit: 10MiB/s\n');
    assert.deepEqual(good.problems, []);
    assert.deepEqual(good.desired?.jobs[0].send, { raw: true, receiveSet: ['readonly=on'], bandwidthLimit: 10 * 1024 * 1024 });
    const bad = file('      receive_set: [readonly=on, nope]\n');
    assert.deepEqual(bad.problems.map((p) => [p.path, p.line]), [['jobs.j.send.receive_set[1]', 6]], JSON.stringify(bad.problems));
    const slow = file('      bandwidth_limit: soon\n');
    assert.deepEqual(slow.problems.map((p) => [p.path, p.line]), [['jobs.j.send.bandwidth_limit', 6]], JSON.stringify(slow.problems));
    const typo = file('      compresed: true\n');
    assert.match(typo.problems[0]?.message ?? '', /compressed/, 'an unknown key gets a did-you-mean');
  });

  it('the token bucket lets `rate` bytes through per second of its clock, any chunk size, and saves at most `burst`', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1000, 500, clock);
    assert.equal(bucket.take(500), 0, 'the saved burst passes at once');
    assert.equal(bucket.take(250), 250, 'then 250 bytes cost 250 ms');
    void clock.sleep(250);
    assert.equal(bucket.take(3000), 3000, 'a chunk over the burst passes after its whole cost');
    void clock.sleep(3000);
    void clock.sleep(60_000);
    assert.equal(bucket.take(500), 0, 'a long idle saves no more than the burst');
    assert.equal(bucket.take(1), 1);
    assert.equal(bucket.passedBytes, 4251);
    assert.throws(() => new TokenBucket(0, 1, clock), RangeError);
  });

  it('the throttled stream passes every byte in order and waits (on its clock) as long as the rate demands', async () => {
    const clock = fakeClock();
    const rate = 256 * 1024;
    const t = throttleStream(rate, clock);
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const chunks: Buffer[] = [];
    const start = clock.now();
    await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000, 2_000_000), data.subarray(2_000_000)]), t, new Writable({
      write(chunk: Buffer, _enc, done) { chunks.push(chunk); done(); },
    }));
    assert.ok(Buffer.concat(chunks).equals(data), 'same bytes, same order');
    const elapsed = clock.now() - start;
    const burst = t.bucket.burst;
    assert.ok(elapsed >= ((data.length - burst) * 1000) / rate, `elapsed ${elapsed} ms on the fake clock for ${data.length} bytes at ${rate} B/s (burst ${burst})`);
    assert.ok(elapsed <= (data.length * 1000) / rate + clock.slept.length, `no more than the rate demands: ${elapsed} ms`);
    assert.equal(t.bucket.passedBytes, data.length);
  });

  it('a step with a bandwidth limit goes through the throttle (dir endpoints), and arrives whole', async () => {
    const d = tempDir('send-limit');
    try {
      mkdirSync(join(d.path, 's/a'), { recursive: true });
      mkdirSync(join(d.path, 'r'));
      writeFileSync(join(d.path, 's/a/f.bin'), Buffer.alloc(64 * 1024, 7));
      const sender = createDirDriver(join(d.path, 's'));
      const receiver = createDirDriver(join(d.path, 'r'));
      const [v1] = await sender.snapshot(['a'], 's1');
      const ctx = { machineId: 'm', childId: 'c', attempt: 1, signal: new AbortController().signal, log: createLogger({ level: 'silent' }), progress: () => {} } as unknown as EffectContext;
      const input: ReplicateStepInput = {
        runId: 'r', sender: sender.endpoint, receiver: receiver.endpoint, filesystem: 'a', step: { from: null, to: v1 }, index: 0, total: 1,
        send: { bandwidthLimit: 1024 * 1024 * 1024 },
      };
      const before = throttledStreamCount();
      const out = await replicateStep(input, ctx, new FerryMetrics());
      assert.ok(out.bytes > 64 * 1024, `bytes ${out.bytes}`);
      assert.equal(throttledStreamCount() - before, 1, 'the step\'s stream went through one throttle');
      assert.deepEqual((await receiver.listVersions('a')).map((v) => v.guid), [v1.guid]);
      assert.deepEqual(readFileSync(join(d.path, 'r/a/f.bin')), Buffer.alloc(64 * 1024, 7));
    } finally {
      d.remove();
    }
  });
});

describe('send options through a job: spec -> job -> replication -> filesystem -> step', () => {
  let redis: EmbeddedRedis;
  let d: { path: string; remove(): void };
  before(async () => {
    redis = await startTestRedis();
    d = tempDir('send-job');
  });
  after(async () => {
    await redis?.stop();
    d?.remove();
  });

  it('the job\'s limit is shared among the streams that run at once, never exceeded in sum', () => {
    assert.deepEqual(shareOfLimit({ raw: true, bandwidthLimit: 10_000 }, 4), { raw: true, bandwidthLimit: 2_500 });
    assert.deepEqual(shareOfLimit({ bandwidthLimit: 10 }, 3), { bandwidthLimit: 3 });
    assert.deepEqual(shareOfLimit({ bandwidthLimit: 2 }, 5), { bandwidthLimit: 1 }, 'at least a byte a second');
    assert.deepEqual(shareOfLimit({ raw: true }, 4), { raw: true }, 'no limit, nothing to share');
    assert.equal(shareOfLimit(undefined, 4), undefined);
  });

  it('a job\'s bandwidth limit reaches every step of every receiver', async () => {
    for (const n of ['s/a', 's/b', 'r1', 'r2']) mkdirSync(join(d.path, n), { recursive: true });
    writeFileSync(join(d.path, 's/a/one.bin'), Buffer.alloc(100_000, 1));
    writeFileSync(join(d.path, 's/b/two.bin'), Buffer.alloc(100_000, 2));
    const [sender, r1, r2] = ['s', 'r1', 'r2'].map((n) => createDirDriver(join(d.path, n)));
    const { engine, jobs } = jobsEngine(redis.url);
    try {
      await jobs.put(validateJobSpec({
        name: 'limited', sender: sender.endpoint, receivers: [r1.endpoint, r2.endpoint], snapshotPrefix: 'auto', retry: fastRetry, send: { bandwidthLimit: '1G' },
      }));
      const before = throttledStreamCount();
      const { runId } = await invokeJob(engine, jobs, 'limited', Date.parse('2026-03-01T00:00:00Z'));
      await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 60_000 });
      assert.equal((await engine.get(runId))?.status, 'done', JSON.stringify((await engine.snapshotOf(runId))?.context.problem));
      assert.equal(throttledStreamCount() - before, 4, 'two filesystems to two receivers: four throttled steps');
      const fsMachine = await engine.snapshotOf(`${runId}.to-1.fs-0`);
      // two receivers at once, two filesystems at once in each: a quarter of the job's limit per stream
      assert.deepEqual(fsMachine?.context.send, { bandwidthLimit: 1024 ** 3 / 4 }, 'the filesystem machine carries its share of the limit');
      for (const r of [r1, r2]) assert.equal((await r.listVersions('b')).length, 1);
    } finally {
      await engine.close();
    }
  });
});
