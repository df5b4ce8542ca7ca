import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { freePort } from '../src/cli/embedded-redis.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { createLogger } from '../src/util/logger.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { startReplication } from '../src/replication/runs.js';
import { runReport } from '../src/replication/report.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { startNodeProcess, stopProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { fastRetry, tempDir } from './helpers/replication.js';
import { writeNoiseFile } from './helpers/noise.js';

/**
 * Issue 5: a worker's peak memory stays within 64 MiB of its idle size while it streams a 2 GiB
 * step from one `ferry agent` to another (Send server stream -> worker -> Receive client stream).
 * Everything is a real process on 127.0.0.1; this process only starts the run and watches.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const FILE_BYTES = 2 * GiB;
const FLAT_BUDGET = 64 * MiB;
/**
 * The sender's live file and its snapshot copy (2 GiB each; the live one is removed once the
 * snapshot exists), then the receiver's copy: 4 GiB at most, plus room for everything else.
 */
const DISK_NEEDED = 4 * GiB + 512 * MiB;
const TOKEN = 'stream-memory-test-token-0123456789';

// ---- memory of a process, from /proc ------------------------------------------------------------

/** VmRSS and VmHWM of `pid` in bytes (null once it is gone). */
function memoryOf(pid: number): { rss: number; hwm: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/**
 * Resets VmHWM to the current RSS ("5" to clear_refs, Linux 4.0+), so the peak read at the end is
 * the step's and not the startup's. False where the kernel refuses it: then only samples count.
 */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The largest RSS of a few samples over ~2 s: a process that just started still settles. */
async function idleRss(pid: number): Promise<number> {
  let max = 0;
  for (let i = 0; i < 10; i++) {
    max = Math.max(max, memoryOf(pid)?.rss ?? 0);
    await new Promise((r) => setTimeout(r, 200));
  }
  return max;
}

/** Samples the RSS of each process every `everyMs` until stopped; `stop()` returns the peak of each. */
function sampleRss(pids: Record<string, number>, everyMs = 50): { stop(): Record<string, number> } {
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) peak[name] = Math.max(peak[name], memoryOf(pid)?.rss ?? 0);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

// ---- data ---------------------------------------------------------------------------------------

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

// ---- processes ----------------------------------------------------------------------------------

interface Proc {
  child: ChildProcess;
  pid: number;
  /** the tail of its stderr, for failure messages */
  stderr(): string;
}

/** `node bin/ferry.mjs ...args`; resolves once it prints `readyText`, then keeps the tail of its stderr. */
async function startFerry(args: string[], env: Record<string, string>, readyText: string): Promise<Proc> {
  const child = await startNodeProcess('bin/ferry.mjs', args, env, readyText);
  let err = '';
  child.stderr!.on('data', (d) => {
    err += String(d);
    if (err.length > 40_000) err = err.slice(-20_000);
  });
  return { child, pid: child.pid!, stderr: () => err };
}

// ---- the scenario -------------------------------------------------------------------------------

describe('streaming a 2 GiB step between agents keeps the worker\'s memory flat', () => {
  let dir: { path: string; remove(): void } | undefined;
  let redis: EmbeddedRedis | undefined;
  let engine: TestEngine | undefined;
  const procs: Proc[] = [];

  after(async () => {
    await engine?.close();
    await Promise.all(procs.map((p) => stopProcess(p.child)));
    await redis?.stop();
    dir?.remove();
  });

  it('worker peak RSS - idle RSS < 64 MiB; the receiver gets the file byte for byte', { timeout: 600_000 }, async (t) => {
    const started = Date.now();
    const timings: Record<string, number> = {};
    let mark = started;
    const lap = (name: string) => {
      const now = Date.now();
      timings[name] = now - mark;
      mark = now;
    };

    // under CI this must run, so too little disk is a failure that says so, not a skip
    const fsStats = statfsSync(tmpdir());
    const free = fsStats.bavail * fsStats.bsize;
    assert.ok(free >= DISK_NEEDED, `${tmpdir()} has ${mib(free)} free; this test needs ${mib(DISK_NEEDED)} (a 2 GiB file, its snapshot and the received copy): free some space or point TMPDIR elsewhere`);

    dir = tempDir('stream-memory');
    const senderRoot = join(dir.path, 'sender');
    const receiverRoot = join(dir.path, 'receiver');
    mkdirSync(join(senderRoot, 'big'), { recursive: true });
    const tokenFile = join(dir.path, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });

    // a small filesystem replicated first, so the worker has loaded what a step loads (lazily) before its idle size is taken
    mkdirSync(join(senderRoot, 'warm'), { recursive: true });
    writeFileSync(join(senderRoot, 'warm', 'small.txt'), 'warm-up\n');
    await createDirDriver(senderRoot).snapshot(['warm'], 'w1');
    const live = join(senderRoot, 'big', 'big.bin');
    await writeNoiseFile(live, FILE_BYTES / MiB);
    lap('file written');
    const [version] = await createDirDriver(senderRoot).snapshot(['big'], 's1');
    // the snapshot is a copy: the live file is not needed any more, and 2 GiB of disk are
    rmSync(live);
    const sent = join(senderRoot, '.ferry', 'snapshots', 'big', 's1', 'data', 'big.bin');
    lap('snapshot taken');

    redis = await startTestRedis();
    const prefix = `sm${process.pid}`;
    const [senderPort, receiverPort] = [await freePort(), await freePort()];
    const agentEnv = { FERRY_LOG_LEVEL: 'warn' };
    const starting = await Promise.allSettled([
      startFerry(['agent', '--listen', `127.0.0.1:${senderPort}`, '--endpoint', `dir:${senderRoot}`, '--token-file', tokenFile], agentEnv, 'agent on grpc://'),
      startFerry(['agent', '--listen', `127.0.0.1:${receiverPort}`, '--endpoint', `dir:${receiverRoot}`, '--token-file', tokenFile], agentEnv, 'agent on grpc://'),
      startFerry(['worker', '--key-prefix', prefix, '--log-level', 'warn'], { REDIS_URL: redis.url, FERRY_TOKEN_FILE: tokenFile }, 'worker running'),
    ]);
    // every process that did start is stopped by `after`, also when another one failed to
    for (const s of starting) if (s.status === 'fulfilled') procs.push(s.value);
    for (const s of starting) if (s.status === 'rejected') throw s.reason;
    const [senderAgent, receiverAgent, worker] = procs;
    lap('processes started');

    // this process starts the runs and watches; only the worker process runs machines and steps
    const metrics = new FerryMetrics();
    engine = openTestEngine(redis.url, { prefix, registry: replicationRegistry({ metrics }), metrics, logger: createLogger({ level: 'warn', pretty: false }) });
    const endpoints = { sender: `grpc://127.0.0.1:${senderPort}/dir:${senderRoot}`, receiver: `grpc://127.0.0.1:${receiverPort}/dir:${receiverRoot}` };
    const warm = await startReplication(engine, { ...endpoints, filesystems: 'warm', retry: fastRetry });
    await engine.waitFor(warm, (r) => r.status !== 'active', { timeoutMs: 120_000, pollMs: 200 });
    assert.equal((await runReport(engine, warm))?.state, 'Completed', 'the warm-up run');
    lap('warm-up run');

    const pids = { worker: worker.pid, sender: senderAgent.pid, receiver: receiverAgent.pid };
    const idle = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await idleRss(pid)] as const))) as Record<keyof typeof pids, number>;
    const peakReset = Object.values(pids).every(resetPeak);
    lap('idle measured');

    const sampler = sampleRss(pids);
    let peaks: Record<string, number>;
    let runId: string;
    try {
      runId = await startReplication(engine, { ...endpoints, filesystems: 'big', retry: fastRetry });
      await engine.waitFor(runId, (r) => r.status !== 'active', { timeoutMs: 480_000, pollMs: 200 });
    } catch (err) {
      for (const p of procs) t.diagnostic(`pid ${p.pid} stderr:\n${p.stderr().slice(-4000)}`);
      throw err;
    } finally {
      peaks = sampler.stop();
    }
    lap('run finished');
    const hwm = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, memoryOf(pid)?.hwm ?? 0])) as Record<keyof typeof pids, number>;
    const report = (await runReport(engine, runId))!;

    for (const name of Object.keys(pids) as (keyof typeof pids)[]) {
      const peak = peakReset ? Math.max(peaks[name], hwm[name]) : peaks[name];
      t.diagnostic(`${name}: idle RSS ${mib(idle[name])}, peak RSS ${mib(peak)} (sampled ${mib(peaks[name])}, VmHWM ${peakReset ? mib(hwm[name]) : 'not reset, ignored'}), growth ${mib(peak - idle[name])}`);
    }
    const bytes = report.filesystems[0]?.bytes ?? 0;
    t.diagnostic(`${mib(bytes)} streamed; the run took ${(timings['run finished'] / 1000).toFixed(1)} s`);
    if (report.state !== 'Completed') for (const p of procs) t.diagnostic(`pid ${p.pid} stderr:\n${p.stderr().slice(-4000)}`);

    assert.equal(report.state, 'Completed', JSON.stringify(report));
    assert.deepEqual(report.filesystems.map((f) => [f.name, f.state, f.stepsDone]), [['big', 'Completed', 1]], JSON.stringify(report));
    assert.ok(bytes >= FILE_BYTES, `the report counts the whole stream: ${bytes} bytes`);

    const workerPeak = peakReset ? Math.max(peaks.worker, hwm.worker) : peaks.worker;
    assert.ok(workerPeak - idle.worker < FLAT_BUDGET,
      `the worker's memory grew by ${mib(workerPeak - idle.worker)} (idle ${mib(idle.worker)}, peak ${mib(workerPeak)}): something buffers the stream`);

    const receiver = createDirDriver(receiverRoot);
    assert.deepEqual((await receiver.listVersions('big')).map((v) => v.guid), [version.guid]);
    const [want, got] = await Promise.all([sha256Of(sent), sha256Of(join(receiverRoot, 'big', 'big.bin'))]);
    assert.equal(got, want, 'the received file is byte-identical to the sent one');
    lap('verified');
    t.diagnostic(`whole test ${Date.now() - started} ms; timings (ms): ${JSON.stringify(timings)}`);
  });
});
