import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TransitionEvent } from '../../src/engine/index.js';
import { openTestEngine } from './engine.js';
import { FerryMetrics } from '../../src/observability/metrics.js';
import { createLogger } from '../../src/util/logger.js';
import { replicationRegistry } from '../../src/replication/registry.js';
import { startReplication } from '../../src/replication/runs.js';
import { runReport } from '../../src/replication/report.js';
import type { Report } from '../../src/replication/report.js';
import { stopProcess, until } from './processes.js';
import { startTestRedis } from './redis.js';
import { zfsUnavailable } from './zfs.js';

/**
 * A replication step killed halfway (test/step-kill-*.test.ts): the only worker is SIGKILLed while
 * the step streams a few hundred MiB from sender to receiver; a second worker takes the stalled job
 * over (lock 2 s, stalled check 1 s). The run must end Completed with the receiver holding exactly
 * the sender's version and data and no transition committed twice.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MiB = 1024 * 1024;
/** data in the replicated filesystem: enough for a step of a few seconds through the worker */
export const DATA_MIB = 384;
/** the worker is killed once the step has streamed at least this much */
export const KILL_AFTER_BYTES = 8 * MiB;
/**
 * How long the run may take to stream past the kill point: seconds on a host; in the OpenZFS VM,
 * under software emulation beside the whole host suite, a worker's planning and the step's probes
 * took more than the 2 minutes this once was.
 */
const STREAMING_WAIT_MS = 300_000;

let seq = 0;

// ---- worker processes ------------------------------------------------------------------------

export interface WorkerProcess {
  child: ChildProcess;
  /** the tail of its stderr (pino logs at warn), for failure messages */
  stderr(): string;
}

/**
 * The workers' job lock: short, so a killed worker's step is taken over soon. Under software
 * emulation (the OpenZFS VM sets FERRY_TEST_LOCK_MS) a live worker's renewals can come later than
 * 2 s; its job would then count as stalled while it still runs, and once past BullMQ's limit be
 * failed and retried as a new step, which finds the first one's version and sends nothing.
 */
const LOCK_MS = Number(process.env.FERRY_TEST_LOCK_MS ?? 2000);

/** `node bin/ferry.mjs worker` on `prefix`; resolves once it says "worker running". */
export async function startWorker(redisUrl: string, prefix: string, logLevel = 'warn'): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [
    'bin/ferry.mjs', 'worker', '--key-prefix', prefix, '--lock-duration-ms', String(LOCK_MS), '--stalled-interval-ms', String(LOCK_MS / 2), '--log-level', logLevel,
  ], { cwd: ROOT, env: { ...process.env, REDIS_URL: redisUrl }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    err += d;
    if (err.length > 40_000) err = err.slice(-20_000);
  });
  const worker = { child, stderr: () => err };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ferry worker did not start within 120 s: ${err}`));
    }, 120_000); // seconds on a host; a minute in the OpenZFS VM's software emulation
    const onData = () => {
      if (!err.includes('worker running')) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`ferry worker exited (${code ?? signal}) before it was running: ${err}`));
    };
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
  return worker;
}

/** pids of the live processes whose parent is `pid` (a worker's zfs/btrfs commands). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return `(pid ${pid} gone)`;
  }
}

// ---- data ------------------------------------------------------------------------------------

/** path -> sha256 of every file below dir, read as streams. */
export async function hashTree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) Object.assign(out, await hashTree(p, `${prefix}${e.name}/`));
    else {
      const h = createHash('sha256');
      for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
      out[`${prefix}${e.name}`] = h.digest('hex');
    }
  }
  return out;
}

// ---- the scenario ----------------------------------------------------------------------------

function assertNoDuplicateTransitions(log: TransitionEvent[]): void {
  const byMachine = new Map<string, TransitionEvent[]>();
  for (const e of log) {
    const mine = byMachine.get(e.machineId) ?? [];
    mine.push(e);
    byMachine.set(e.machineId, mine);
  }
  for (const [id, mine] of byMachine) {
    const versions = mine.map((e) => e.version);
    for (let i = 1; i < versions.length; i++) {
      assert.ok(versions[i] > versions[i - 1], `transitions of ${id} not strictly increasing (duplicate or out of order): ${JSON.stringify(mine.map((e) => [e.version, e.from, e.to, e.event]))}`);
    }
  }
}

export interface KillResult {
  runId: string;
  report: Report;
  log: TransitionEvent[];
  /** bytes the step had streamed when its worker was killed */
  killedAtBytes: number;
  /** commands the killed worker had running (its zfs/btrfs send and receive) */
  orphans: number[];
  timings: Record<string, number>;
}

/**
 * One run from `sender` to `receiver` (one filesystem) whose step is killed halfway, on a redis-server
 * of its own: one worker, SIGKILL once the step streamed `killAfterBytes`, then a second worker;
 * resolves when the run ended. `receiverHas` tells whether the receiver has the snapshot (it must
 * not, right after the kill).
 */
export async function runKilledHalfway(
  t: TestContext, sender: string, receiver: string,
  receiverHas: () => Promise<boolean>,
  /** looks at the receiver right after the kill, before the second worker starts */
  afterKill: () => Promise<void> = async () => undefined,
  killAfterBytes = KILL_AFTER_BYTES,
): Promise<KillResult> {
  const redis = await startTestRedis();
  const redisUrl = redis.url;
  const prefix = `sk${process.pid}x${++seq}`;
  const timings: Record<string, number> = {};
  let mark = Date.now();
  const lap = (name: string) => {
    const now = Date.now();
    timings[name] = now - mark;
    mark = now;
  };
  const workers: WorkerProcess[] = [];
  const metrics = new FerryMetrics();
  // the run is started and watched from here; only the worker processes run machines and steps
  const engine = openTestEngine(redisUrl, {
    prefix, registry: replicationRegistry({ metrics }), metrics, logger: createLogger({ level: 'warn', pretty: false }),
  });
  try {
    const first = await startWorker(redisUrl, prefix);
    workers.push(first);
    lap('first worker started');

    // retries for longer than the killed worker's lock lease (30 s), which a dir or btrfs retry waits out
    const runId = await startReplication(engine, { sender, receiver, retry: { initialMs: 100, maxMs: 2000, maxAttempts: 60 } });
    const childId = `${runId}.fs-0`;
    let seen = 'no filesystem machine yet';
    const killedAtBytes = await until('the step to stream past the kill point', async () => {
      const run = await engine.get(runId);
      if (run && run.status !== 'active') throw new Error(`the run ended before the kill: ${JSON.stringify(await runReport(engine, runId))}`);
      const child = await engine.get(childId);
      if (child && child.status !== 'active') throw new Error(`the filesystem ended before the kill (state ${JSON.stringify(child.value)}): make the data bigger`);
      if (child) seen = `the filesystem machine in ${JSON.stringify(child.value)}, its step's progress ${JSON.stringify(child.progress.step ?? null)}`;
      const bytes = child?.progress.step?.bytes ?? 0;
      return bytes >= killAfterBytes ? bytes : false;
    }, STREAMING_WAIT_MS, 10).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${seen}`);
    });
    lap('step streaming');

    const orphans = childrenOf(first.child.pid!);
    await stopProcess(first.child, 'SIGKILL');
    const killedAt = Date.now();
    lap('first worker killed');
    assert.equal(await receiverHas(), false, `the step finished before the kill (${killedAtBytes} bytes streamed): it was not killed halfway`);
    await afterKill();

    const second = await startWorker(redisUrl, prefix);
    workers.push(second);
    lap('second worker started');

    // wait for the run, noting when the retried step streams (its progress starts anew)
    let retried: { startedAt: number; at: number; bytes: number } | null = null;
    await until('the run to finish', async () => {
      const p = (await engine.get(childId))?.progress.step;
      if (p?.startedAt && p.startedAt > killedAt) retried = { startedAt: p.startedAt, at: p.at, bytes: p.bytes ?? 0 };
      const run = await engine.get(runId);
      return !!run && run.status !== 'active';
    }, 300_000, 50);
    lap('run finished');
    if (retried) {
      const { startedAt, at, bytes } = retried;
      timings['retried step started after the kill'] = startedAt - killedAt;
      timings['retried step streaming (last report)'] = at - startedAt;
      timings['retried step MiB at last report'] = Math.round(bytes / MiB);
    }
    const report = (await runReport(engine, runId))!;
    const log = await engine.transitions.read('0');

    // what the killed worker ran (zfs/btrfs send and receive) has stopped by now: nothing holds the receiver
    await until('the commands of the killed worker to exit', () => orphans.every((pid) => !alive(pid)), 15_000, 50)
      .catch(() => assert.fail(`commands of the killed worker still run: ${orphans.filter(alive).map(commandLine).join('; ')}`));
    lap('orphans gone');
    return { runId, report, log, killedAtBytes, orphans, timings };
  } catch (err) {
    for (const [i, w] of workers.entries()) t.diagnostic(`worker ${i + 1} (pid ${w.child.pid}) stderr:\n${w.stderr().slice(-4000)}`);
    throw err;
  } finally {
    await engine.close();
    for (const w of workers) await stopProcess(w.child);
    await redis.stop();
  }
}

/**
 * What every driver's run must show: Completed, one step, no duplicate transition. The retried
 * step sent the whole stream again, or with `resumed` (OpenZFS receive -s / send -t) only what was
 * missing: less than the data minus half of what had streamed at the kill.
 */
export function assertRunCompleted(t: TestContext, r: KillResult, opts: { resumed?: boolean } = {}): void {
  t.diagnostic(`killed at ${(r.killedAtBytes / MiB).toFixed(1)} MiB; timings (ms): ${JSON.stringify(r.timings)}`);
  assert.equal(r.report.state, 'Completed', JSON.stringify(r.report));
  assert.deepEqual(r.report.filesystems.map((f) => [f.name, f.state, f.stepsDone, f.stepsTotal]), [['fs', 'Completed', 1, 1]], JSON.stringify(r.report));
  const bytes = r.report.filesystems[0].bytes;
  t.diagnostic(`the retried step sent ${(bytes / MiB).toFixed(1)} MiB`);
  t.diagnostic(`filesystem machine events: ${r.log.filter((e) => e.machineId === `${r.runId}.fs-0`).map((e) => `${e.event}->${e.to}`).join(', ')}`);
  if (opts.resumed) {
    assert.ok(bytes > 0 && bytes < DATA_MIB * MiB - r.killedAtBytes / 2, `the retried step resumed, sending only the rest: ${bytes} bytes of ${DATA_MIB} MiB, killed at ${r.killedAtBytes}`);
  } else {
    assert.ok(bytes >= DATA_MIB * MiB, `the retried step sent the whole stream: ${bytes} bytes`);
  }
  assertNoDuplicateTransitions(r.log);
  const childPath = r.log.filter((e) => e.machineId === `${r.runId}.fs-0`).map((e) => e.to);
  t.diagnostic(`filesystem machine path: ${childPath.join(' -> ')}`);
  assert.equal(childPath.at(-1), 'Completed');
  assert.ok(r.log.some((e) => e.machineId === r.runId && e.to === 'Completed'), 'the run machine logged its Completed transition');
}

// ---- gates -------------------------------------------------------------------------------------

/** zfsUnavailable() throws under CI=true: then the tests fail (with that reason) instead of skipping. */
export function zfsGate(): { skip: string | false; failure: string | null } {
  try {
    const reason = zfsUnavailable();
    return reason === null ? { skip: false, failure: null } : { skip: `zfs unavailable: ${reason}`, failure: null };
  } catch (err) {
    return { skip: false, failure: (err as Error).message };
  }
}

