import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addStepTiming, coveredMs, effectMs } from '../machines/timing.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { runTiming } from '../src/replication/report.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { startTestRedis } from './helpers/redis.js';
import { replicate, replicationEngine, tempDir } from './helpers/replication.js';
import type { TestEngine } from './helpers/engine.js';

/** A run's breakdown (planning, steps, engine overhead): `ferry replicate --json` and `ferry status --json` show it. */

describe('run timing: pure', () => {
  it('an effect measures itself; steps add up; overlapping spans count once', () => {
    assert.equal(effectMs({ startedAt: 1000, finishedAt: 1250 }), 250);
    assert.equal(effectMs({}), 0, 'an effect that said nothing (an older worker) took no known time');
    let t = addStepTiming(undefined, { startedAt: 1000, finishedAt: 1100 });
    t = addStepTiming(t, { startedAt: 1200, finishedAt: 1500 });
    t = addStepTiming(t, {});
    assert.equal(addStepTiming(undefined, {}), undefined);
    assert.deepEqual(t, { stepsMs: 400, stepsFrom: 1000, stepsUntil: 1500 });
    assert.equal(coveredMs([[0, 10], [5, 20], [30, 40], [32, 35]]), 30);
    assert.equal(coveredMs([]), 0);
  });

  it('engine overhead is the wall time when neither planning nor any step ran', () => {
    const fs = (from: number, until: number, stepsMs: number) => ({ timing: { stepsMs, stepsFrom: from, stepsUntil: until } });
    const context = { planningMs: 100, filesystems: [fs(1200, 1700, 500), fs(1300, 1900, 600)] } as never;
    assert.deepEqual(runTiming(context, 1000, 2000), { wallMs: 1000, planningMs: 100, stepsMs: 1100, engineMs: 200 });
    assert.equal(runTiming(context, 0, 2000), null, 'a record of an older version has no creation time');
    assert.deepEqual(runTiming({ filesystems: [] } as never, 1000, 1010), { wallMs: 10, planningMs: 0, stepsMs: 0, engineMs: 10 });
  });
});

describe('run timing: a real run', () => {
  let redis: EmbeddedRedis;
  let engine: TestEngine;
  const temp = tempDir('timing');
  before(async () => {
    redis = await startTestRedis();
    engine = replicationEngine(redis.url);
  });
  after(async () => {
    await engine.close();
    await redis.stop();
    temp.remove();
  });

  it('the report of a finished run carries its planning, steps and engine overhead, adding up to its wall time', async () => {
    const s = join(temp.path, 's');
    mkdirSync(join(s, 'a'), { recursive: true });
    mkdirSync(join(s, 'b'), { recursive: true });
    writeFileSync(join(s, 'a', 'f'), 'x'.repeat(100_000));
    writeFileSync(join(s, 'b', 'f'), 'y'.repeat(100_000));
    await createDirDriver(s).snapshot(['a', 'b'], 's1');
    const report = await replicate(engine, { sender: `dir:${s}`, receiver: `dir:${join(temp.path, 'r')}`, initial: 'all', concurrency: 2 });
    assert.equal(report.state, 'Completed');
    const t = report.timing!;
    assert.ok(t, 'timing is reported');
    assert.ok(t.planningMs >= 0 && t.stepsMs > 0 && t.engineMs >= 0, JSON.stringify(t));
    assert.ok(t.planningMs + t.engineMs <= t.wallMs, JSON.stringify(t));
    const again = await replicate(engine, { sender: `dir:${s}`, receiver: `dir:${join(temp.path, 'r')}`, initial: 'all', concurrency: 2 });
    assert.equal(again.timing!.stepsMs, 0, 'nothing to send: no steps');
  });
});
