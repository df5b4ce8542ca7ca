import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { diffDigests, digestTree } from '../chaos/trees.js';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { TransitionLog } from '../src/engine/transition-log.js';
import type { TransitionEvent } from '../src/engine/types.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { openRedis } from '../src/util/redis.js';
import { runProcess, stopProcess, until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

// Workers on many hosts (docs/ha.md): two "hosts" on loopback, each an agent and a worker process
// with its own identity ferry@HOST:PID (one machine here, so the pids tell them apart). Host A is
// the sender's agent and `ferry serve` (a worker like `ferry worker`, plus the agents' health
// checker); host B is the receiver's agent and a `ferry worker`. Host B disappears whole mid-run.

const PREFIX = 'hosts';
const TOKEN = 'many-hosts-token-0123456789';
const FILESYSTEMS = ['f0', 'f1', 'f2'];
const SNAPSHOTS = 4;
// a dead worker's job is taken over within about 3 s
const WORKER_FLAGS = ['--key-prefix', PREFIX, '--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'];

interface Proc { name: string; child: ChildProcess; err(): string; exited: Promise<void> }

async function start(name: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, ['bin/ferry.mjs', ...args], { env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let all = '';
  const keep = (d: Buffer) => { all = (all + d.toString()).slice(-100_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    until(`${name} to be ready`, () => ready.test(all), 60_000),
    exited.then(() => { throw new Error(`${name} exited early: ${all}`); }),
  ]);
  return { name, child, err: () => all, exited };
}

const identity = (p: Proc) => `ferry@${hostname()}:${p.child.pid}`;

describe('workers on many hosts: a whole host disappears mid-run', () => {
  let redis: EmbeddedRedis;
  let conn: Redis;
  let effects: Queue;
  let d: { path: string; remove(): void };
  let env: Record<string, string>;
  const ports = { a: 0, b: 0 };
  const procs: Proc[] = [];
  const dirs = (host: 'a' | 'b') => join(d.path, host);
  const startAgent = async (host: 'a' | 'b') => {
    const p = await start(`agent-${host}`, ['agent', '--listen', `127.0.0.1:${ports[host]}`, '--allow', `dir:${dirs(host)}`, '--token-file', env.FERRY_TOKEN_FILE], env, /agent on grpc:\/\//);
    procs.push(p);
    return p;
  };
  const ferry = async (args: string[]) => {
    const r = await runProcess(process.execPath, ['bin/ferry.mjs', '--key-prefix', PREFIX, ...args], { env: { FERRY_LOG_LEVEL: 'warn', ...env }, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `ferry ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  };

  before(async () => {
    d = tempDir('many-hosts');
    for (const host of ['a', 'b'] as const) mkdirSync(dirs(host));
    writeFileSync(join(d.path, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    redis = await startTestRedis();
    conn = openRedis(redis.url);
    effects = new Queue('effects', { connection: conn as never, prefix: PREFIX });
    env = { REDIS_URL: redis.url, FERRY_TOKEN_FILE: join(d.path, 'token') };
    ports.a = await freePort();
    ports.b = await freePort();
    const sender = createDirDriver(dirs('a'));
    for (const fs of FILESYSTEMS) mkdirSync(join(dirs('a'), fs));
    for (let i = 0; i < SNAPSHOTS; i++) {
      for (const fs of FILESYSTEMS) writeFileSync(join(dirs('a'), fs, `part${i}.bin`), randomBytes(3 << 20));
      await sender.snapshot(FILESYSTEMS, `s${i}`);
    }
  });

  after(async () => {
    await Promise.all(procs.map((p) => stopProcess(p.child, 'SIGTERM', 15_000)));
    await effects?.close();
    conn?.disconnect();
    await redis?.stop();
    d?.remove();
  });

  it("host B's worker and agent SIGKILLed mid-run: host A's worker takes its jobs, B's agent is marked unhealthy, nothing is done twice", { timeout: 300_000 }, async () => {
    const hostA = { agent: await startAgent('a'), worker: await start('serve-a', ['serve', ...WORKER_FLAGS, '--no-metrics', '--concurrency', '2', '--health-interval-ms', '500'], env, /ferry: serving/) };
    procs.push(hostA.worker);
    const hostB = { agent: await startAgent('b'), worker: await start('worker-b', ['worker', ...WORKER_FLAGS, '--concurrency', '4'], env, /worker running/) };
    procs.push(hostB.worker);
    assert.notEqual(identity(hostA.worker), identity(hostB.worker));

    const endpoint = (host: 'a' | 'b') => `grpc://127.0.0.1:${ports[host]}/dir:${dirs(host)}`;
    // steps of about 1.5 s each (bandwidth limit), so host B is caught holding one
    await ferry(['job', 'create', 'across', '--sender', endpoint('a'), '--receiver', endpoint('b'), '--initial', 'all', '--concurrency', '3',
      '--bandwidth-limit', '2M', '--retry-initial-ms', '500', '--retry-max-ms', '2000', '--max-attempts', '30', '--json']);
    const { runId } = await ferry(['job', 'run', 'across', '--json']);

    // host B's worker holds a step: the whole host goes
    const held = await until("host B's worker running a step", async () => {
      const active = await effects.getJobs(['active']);
      return active.find((j) => j.processedBy === identity(hostB.worker) && j.data.src === 'replicateStep');
    }, 60_000, 50);
    const killedAt = Date.now();
    hostB.worker.child.kill('SIGKILL');
    hostB.agent.child.kill('SIGKILL');
    await Promise.all([hostB.worker.exited, hostB.agent.exited]);

    // the health checker (and the workers' failed calls) mark host B's agent unhealthy; the run waits for it
    const unhealthy = await until("host B's agent reported unhealthy", async () => {
      const s = await ferry(['status', runId, '--json']);
      return (s.unhealthyTargets as Array<{ target: string; since: string }>).find((t) => t.target.endsWith(`:${ports.b}`));
    }, 60_000, 250);
    assert.ok(Date.parse(unhealthy.since) >= killedAt - 1000, `unhealthy since about the kill: ${JSON.stringify(unhealthy)}`);
    const waiting = await ferry(['status', runId, '--json']);
    assert.ok(!['Completed', 'PermanentError'].includes(waiting.state), `the run waits for host B: ${waiting.state}`);

    // the step host B held is taken over by host A's worker (its lock lapsed: BullMQ's stalled-job check)
    // (unless B finished it in the moment between being seen with it and the kill)
    await until('the held step taken over', async () => {
      const j = await effects.getJob(held.id!);
      return j?.processedBy === identity(hostA.worker) || (j?.processedBy === identity(hostB.worker) && (j.finishedOn ?? Infinity) <= killedAt);
    }, 60_000, 100);

    // host B comes back with its agent only (same address); host A's worker does everything left
    await startAgent('b');
    const final = await until('the run to end', async () => {
      const s = await ferry(['status', runId, '--json']);
      return s.state === 'Completed' || s.state === 'PermanentError' ? s : undefined;
    }, 180_000, 500);
    assert.equal(final.state, 'Completed', JSON.stringify(final, null, 1));
    const [rep] = final.replications as Array<{ filesystems: Array<{ name: string; state: string; stepsDone: number }> }>;
    assert.deepEqual(rep.filesystems.map((f) => [f.name, f.state, f.stepsDone]), FILESYSTEMS.map((fs) => [fs, 'Completed', SNAPSHOTS]));

    // every step effect that ran after the kill ran on host A
    const after = (await effects.getJobs(['completed', 'failed', 'active', 'wait', 'delayed'])).filter((j) => (j.processedOn ?? 0) > killedAt);
    assert.ok(after.length > 0);
    for (const j of after) assert.equal(j.processedBy, identity(hostA.worker), `effect ${j.data.src} of ${j.data.machineId} ran on host A`);

    // nothing done twice: each (machine, version) once in the log, each step completed once
    const log = new TransitionLog(conn, `${PREFIX}:transitions`);
    const all: TransitionEvent[] = [];
    for (let from = '0'; ;) {
      const page = await log.read(from, 1000);
      if (!page.length) break;
      all.push(...page);
      from = page.at(-1)!.id!;
    }
    const versions = all.map((e) => `${e.machineId}#${e.version}`);
    assert.equal(new Set(versions).size, versions.length, 'no transition logged twice');
    // each step's effect succeeded once (the one host B held is the same job, run again on host A;
    // tries refused while B's agent was down end { ok: false } and are tried again as new jobs)
    const steps = (await effects.getJobs(['completed'])).filter((j) => j.data.src === 'replicateStep' && (j.returnvalue as { ok?: boolean } | null)?.ok === true);
    const perStep = new Map<string, number>();
    for (const j of steps) perStep.set(`${j.data.machineId}#${j.data.input.index}`, (perStep.get(`${j.data.machineId}#${j.data.input.index}`) ?? 0) + 1);
    assert.equal(perStep.size, FILESYSTEMS.length * SNAPSHOTS, JSON.stringify([...perStep]));
    assert.ok([...perStep.values()].every((n) => n === 1), `a step completed twice: ${JSON.stringify([...perStep])}`);

    // the receiver holds exactly the sender's versions, and shows the newest tree
    const sender = createDirDriver(dirs('a'));
    const receiver = createDirDriver(dirs('b'));
    for (const fs of FILESYSTEMS) {
      assert.deepEqual((await receiver.listVersions(fs)).map((v) => v.guid), (await sender.listVersions(fs)).map((v) => v.guid), fs);
      const want = await digestTree(join(dirs('a'), '.ferry', 'snapshots', fs, `s${SNAPSHOTS - 1}`, 'data'));
      assert.deepEqual(diffDigests(want, await digestTree(join(dirs('b'), fs))), [], `${fs}: the receiver's tree`);
    }
  });
});
