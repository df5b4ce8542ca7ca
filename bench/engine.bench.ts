/**
 * Engine throughput benchmark: `npm run bench` (node --import tsx bench/engine.bench.ts).
 *
 * Starts its own redis-server (loopback, free port, AOF off), then in one process:
 *  1. raw BullMQ baseline: a Queue + Worker (concurrency 50) processing no-op jobs;
 *  2. the engine: many toggle machines (A <-> B on `tick`, every event a committed state change
 *     in the transition log), events sent concurrently through `Engine.send`, workers in-process.
 * Prints human-readable figures on stdout; the last stdout line is one JSON object with them all.
 *
 * Knobs (env): BENCH_MACHINES (1000), BENCH_EVENTS_PER_MACHINE (20), BENCH_RAW_JOBS (20000),
 * BENCH_SEND_CONCURRENCY (200), BENCH_DRAIN_CONCURRENCY (50), BENCH_WARMUP (1; 0 to skip),
 * BENCH_PROFILE (0; 1 counts client-side Redis round trips per event, adds some overhead),
 * BENCH_SCALE (1000,10000,100000: live machines of the scale figures, bench/engine-scale.ts; 0 skips
 * them), BENCH_SCALE_LOG_CAP (1000: the capped log's cap),
 * BENCH_STRICT (0; 1 exits non-zero when a target is missed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { setup } from 'xstate';
import { DEFAULT_TRANSITION_LOG_MAX_LEN, Engine, openRedis, type EngineOptions, type Registry, type TransitionEvent } from '../src/engine/index.js';
import { defaultScaleOptions, formatScale, runScaleFigures, type ScaleOptions, type ScaleReport } from './engine-scale.js';
import { makeKeys } from '../src/engine/keys.js';
import { createLogger } from '../src/util/logger.js';
import {
  countRedisCommands, envInt, medianBy, passFail, percentile, pool, printReport, round, roundTripsPer, runIfMain, sleep, startUsage, withTestRedis,
  type CommandCount, type ResourceUsage,
} from './lib.js';

// ---- the machine under load ---------------------------------------------------------

/** Flips between A and B on every `tick`: each event is one committed, logged state change. */
export const toggleMachine = setup({
  types: { events: {} as { type: 'tick' } },
}).createMachine({
  id: 'toggle',
  initial: 'A',
  states: {
    A: { on: { tick: 'B' } },
    B: { on: { tick: 'A' } },
  },
});

export const benchRegistry: Registry = {
  machines: { toggle: { machine: toggleMachine, version: '1' } },
  effects: {},
};

// ---- options and results -----------------------------------------------------------------

export interface EngineBenchOptions {
  /** use this Redis instead of starting a throwaway redis-server */
  redisUrl?: string;
  machines: number;
  eventsPerMachine: number;
  rawJobs: number;
  /** sends in flight from the bench process */
  sendConcurrency: number;
  drainConcurrency: number;
  /** BullMQ worker concurrency of the raw baseline */
  rawConcurrency: number;
  warmup: boolean;
  /** count client-side Redis round trips (patches ioredis; slightly slower) */
  profile: boolean;
  /** give up a phase after this long, ms */
  phaseTimeoutMs: number;
  /** measured rounds (raw then engine, back to back); headline figures are medians */
  rounds: number;
  /** events/s of the extra paced phase measuring latency below saturation; 0 skips it */
  pacedRate: number;
  /** events per machine in the paced phase */
  pacedEventsPerMachine: number;
  /** the scale figures (bench/engine-scale.ts) */
  scale: ScaleOptions;
}

export const TARGETS = { transitionsPerSec: 5000, machines: 1000, ratio: 1.0 } as const;

export function defaultOptions(): EngineBenchOptions {
  return {
    redisUrl: process.env.BENCH_REDIS_URL || undefined,
    machines: envInt('BENCH_MACHINES', 1000),
    eventsPerMachine: envInt('BENCH_EVENTS_PER_MACHINE', 20),
    rawJobs: envInt('BENCH_RAW_JOBS', 20_000),
    sendConcurrency: envInt('BENCH_SEND_CONCURRENCY', 200),
    drainConcurrency: envInt('BENCH_DRAIN_CONCURRENCY', 50),
    rawConcurrency: 50,
    warmup: process.env.BENCH_WARMUP !== '0',
    profile: process.env.BENCH_PROFILE === '1',
    phaseTimeoutMs: envInt('BENCH_PHASE_TIMEOUT_MS', 90_000),
    rounds: envInt('BENCH_ROUNDS', 3),
    pacedRate: process.env.BENCH_PACED_RATE === '0' ? 0 : envInt('BENCH_PACED_RATE', 2000),
    pacedEventsPerMachine: envInt('BENCH_PACED_EVENTS_PER_MACHINE', 4),
    scale: defaultScaleOptions(),
  };
}

export interface RawBullmqResult {
  jobs: number;
  concurrency: number;
  jobsPerSec: number;
  durationMs: number;
  /** time to add all jobs (addBulk, chunks of 1000) */
  addMs: number;
  usage: Summary;
}

export interface EngineResult {
  machines: number;
  events: number;
  transitionsPerSec: number;
  durationMs: number;
  /** time until every `send` resolved */
  sendMs: number;
  /** send → commit (the log entry's stream id time, i.e. the commit's Redis time) */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** send → transition computed (the log entry's `at`, just before the commit round trip) */
  applyP50Ms: number;
  applyP99Ms: number;
  startsPerSec: number;
  drainJobs: number;
  commits: number;
  eventsPerCommit: number;
  commitConflicts: number;
  failedDrainJobs: number;
  /** logChecked: false when the log was capped below the run (then only the final versions are checked) */
  verified: { ok: boolean; missing: number; duplicates: number; wrongOrder: number; logChecked: boolean };
  usage: Summary;
  roundTrips?: RoundTripProfile;
  /** machines that existed during the load (the idle ones too) */
  liveMachines: number;
  /** 0: the workers ran in the bench process */
  workerProcesses: number;
  transitionLogMaxLen: number;
  memory: {
    /** Redis memory per created, idle machine (record, index entry; its log entry left out), bytes */
    perIdleMachineBytes: number;
    /** transition log memory per logged transition, bytes (NaN when the log was capped) */
    perLoggedTransitionBytes: number;
    /** Redis used_memory after the load */
    usedMb: number;
  };
}

interface Summary {
  nodeCpuPct: number;
  eventLoopUtilization: number;
  redisCpuPct: number;
  /** redis commands executed per unit (event or job), counting those inside Lua scripts */
  redisCommandsPerUnit: number;
  topRedisCommands: Record<string, number>;
}

interface RoundTripProfile {
  /** client → redis requests per event (pipelines count once) */
  perEvent: number;
  byName: Record<string, number>;
}

export interface RoundFigures {
  transitionsPerSec: number;
  jobsPerSec: number;
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  eventsPerCommit: number;
}

export interface PacedLatency {
  /** events/s offered, spread evenly */
  ratePerSec: number;
  events: number;
  transitionsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  eventsPerCommit: number;
}

export interface EngineBenchReport {
  /** the round with the median engine throughput (transitionsPerSec is that median) */
  engine: EngineResult;
  /** the round with the median raw throughput */
  rawBullmq: RawBullmqResult;
  /** median engine transitions/s over median raw jobs/s */
  ratio: number;
  rounds: RoundFigures[];
  /** send→commit latency below saturation (paced sends), for comparison with the flood's */
  pacedLatency: PacedLatency | null;
  /** null with BENCH_SCALE=0 */
  scale: ScaleReport | null;
  targets: { transitionsPerSec: number; machines: number; ratio: number; transitionsPerSecMet: boolean; ratioMet: boolean };
  ok: boolean;
}

function summarize(u: ResourceUsage, units: number): Summary {
  const top = Object.entries(u.redisCommandStats).sort((a, b) => b[1] - a[1]).slice(0, 12);
  return {
    nodeCpuPct: round((100 * u.nodeCpuMs) / u.wallMs),
    eventLoopUtilization: round(u.eventLoopUtilization, 3),
    redisCpuPct: round((100 * u.redisCpuMs) / u.wallMs),
    redisCommandsPerUnit: round(u.redisCommands / units, 2),
    topRedisCommands: Object.fromEntries(top.map(([k, v]) => [k, round(v / units, 2)])),
  };
}

const logger = () => createLogger({ level: 'warn', pretty: false });
let prefixSeq = 0;
const uniquePrefix = (what: string) => `bench-${what}-${process.pid}-${++prefixSeq}`;

// ---- raw BullMQ baseline ------------------------------------------------------------------

/** N no-op jobs through one Queue + Worker, timed from the first add to the last completion. */
export async function runRawBullmq(redisUrl: string, jobs: number, opts: Pick<EngineBenchOptions, 'rawConcurrency' | 'phaseTimeoutMs'>): Promise<RawBullmqResult> {
  const prefix = uniquePrefix('raw');
  const queueConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const workerConn = queueConn.duplicate({ maxRetriesPerRequest: null });
  const admin = new Redis(redisUrl);
  const queue = new Queue('noop', { connection: queueConn as unknown as ConnectionOptions, prefix });
  let completed = 0;
  let lastCompletion = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const worker = new Worker('noop', async () => undefined, {
    connection: workerConn as unknown as ConnectionOptions,
    prefix,
    concurrency: opts.rawConcurrency,
    lockDuration: 30_000,
    stalledInterval: 30_000,
    maxStalledCount: 5,
  });
  worker.on('error', (err) => process.stderr.write(`raw worker error: ${err.message}\n`));
  worker.on('completed', () => {
    if (++completed === jobs) {
      lastCompletion = Date.now();
      resolveDone();
    }
  });
  try {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    const stopUsage = await startUsage(admin);
    const t0 = Date.now();
    const CHUNK = 1000;
    for (let i = 0; i < jobs; i += CHUNK) {
      const n = Math.min(CHUNK, jobs - i);
      await queue.addBulk(Array.from({ length: n }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true, removeOnFail: 1000 } })));
    }
    const addMs = Date.now() - t0;
    await withTimeout(done, opts.phaseTimeoutMs, () => `raw BullMQ: ${completed}/${jobs} jobs completed`);
    const usage = await stopUsage();
    const durationMs = Math.max(1, lastCompletion - t0);
    return { jobs, concurrency: opts.rawConcurrency, jobsPerSec: round((jobs * 1000) / durationMs), durationMs, addMs, usage: summarize(usage, jobs) };
  } finally {
    await worker.close();
    await queue.close();
    workerConn.disconnect();
    queueConn.disconnect();
    admin.disconnect();
  }
}

// ---- engine ------------------------------------------------------------------------------

const TICK = { type: 'tick' } as const;

/**
 * `machines` toggle machines, `eventsPerMachine` ticks each, sent concurrently (bounded) through
 * `Engine.send` while the same process runs the engine's workers. Timed from the first send to
 * the last commit; latency per event from its send to its commit.
 */
export async function runEngineLoad(
  redisUrl: string,
  opts: Pick<EngineBenchOptions, 'machines' | 'eventsPerMachine' | 'sendConcurrency' | 'drainConcurrency' | 'phaseTimeoutMs'> & {
    profile?: boolean;
    /** spread the sends evenly at this many per second instead of sending as fast as possible */
    ratePerSec?: number;
    /** called once the workers run, before the load: for experiments (e.g. client options) */
    onEngine?: (engine: Engine) => void;
    /** machines created in all (at least `machines`); the events go to the first `machines` of them, the rest stay idle */
    liveMachines?: number;
    /** run the workers in this many child processes instead of in this one (0: in-process) */
    workerProcesses?: number;
    /** the transition log's cap; default: large enough for the whole run (the log check needs it) */
    transitionLogMaxLen?: number;
    /** the engine's replica wait (bench/replica-wait.bench.ts) */
    replicas?: EngineOptions['replicas'];
  },
): Promise<EngineResult> {
  const M = opts.machines;
  const N = Math.max(M, opts.liveMachines ?? M);
  const E = opts.eventsPerMachine;
  const total = M * E;
  const logMaxLen = opts.transitionLogMaxLen ?? Math.max(DEFAULT_TRANSITION_LOG_MAX_LEN, 2 * (N + M * E));
  // a capped log loses entries: then only the records' versions are checked
  const logComplete = logMaxLen >= N + total;
  const prefix = uniquePrefix('engine');
  // the engine's keys, read by the bench's own connection (the engine does not expose its keys)
  const keys = makeKeys(prefix);
  // counters of the engine's drain jobs and commits (after the machines' creation), through its trace hook
  let drainJobs = 0;
  let commits = 0;
  let committedEvents = 0;
  const redis = openRedis(redisUrl);
  const engine = new Engine({
    redis, prefix, registry: benchRegistry, logger: logger(), replicas: opts.replicas,
    transitionLogMaxLen: logMaxLen,
    trace: {
      drainJob: () => { drainJobs++; },
      committed: (c) => { if (c.expectedVersion > 0) { commits++; committedEvents += c.consumed; } },
    },
  });
  const admin = new Redis(redisUrl);
  const counter = opts.profile ? countRedisCommands() : null;

  const children = await startWorkerProcesses(redisUrl, prefix, opts.workerProcesses ?? 0, opts.drainConcurrency, logMaxLen);
  try {
    if (!children.length) engine.startWorkers({ drainConcurrency: opts.drainConcurrency });
    opts.onEngine?.(engine);
    const ids = Array.from({ length: M }, (_, i) => `m${i}`);
    const indexOf = new Map(ids.map((id, i) => [id, i]));

    const memBefore = await redisMemory(admin, keys.transitions);
    const tStart = Date.now();
    await pool(N, 200, (i) => engine.start('toggle', `m${i}`, {}));
    const startsPerSec = round((N * 1000) / Math.max(1, Date.now() - tStart));
    const initial = await admin.xlen(keys.transitions);
    if (logComplete && initial !== N) throw new Error(`expected ${N} initial transitions in the log, found ${initial}`);
    const memIdle = await redisMemory(admin, keys.transitions);

    const target = logComplete ? N + total : 0;
    const sendTimes = new Float64Array(total);
    counter?.reset();
    const stopUsage = await startUsage(admin);
    const firstSend = Date.now();
    let sendError: unknown = null;
    // event-major order: round k sends the k-th tick to every machine. send() issues its RPUSH
    // synchronously, in call order, so the k-th send to a machine is applied as its version k+2.
    const rate = opts.ratePerSec;
    const sending = pool(total, opts.sendConcurrency, async (idx) => {
      const k = Math.floor(idx / M);
      const m = idx % M;
      if (rate) {
        const wait = firstSend + (idx * 1000) / rate - Date.now();
        if (wait > 0) await sleep(wait);
      }
      // (paced: a machine's consecutive sends are M/rate ms apart, so their timers fire in order)
      sendTimes[m * E + k] = Date.now();
      await engine.send(ids[m], TICK);
    }).then(() => Date.now(), (err) => { sendError = err; return Date.now(); });

    const deadline = firstSend + opts.phaseTimeoutMs;
    let lastCommit = 0;
    if (logComplete) {
      let len = initial;
      while (len < target) {
        if (sendError) throw sendError;
        if (Date.now() > deadline) {
          const counts = await engine.queueCounts().catch(() => ({}));
          throw new Error(`engine: ${len - N}/${total} transitions committed after ${opts.phaseTimeoutMs} ms; queues ${JSON.stringify(counts)}`);
        }
        await sleep(5);
        len = await admin.xlen(keys.transitions);
      }
    } else {
      // the log is capped below the run: wait for every busy machine's record instead; the last commit is the latest state change
      for (;;) {
        if (sendError) throw sendError;
        if (Date.now() > deadline) throw new Error(`engine: not done after ${opts.phaseTimeoutMs} ms (capped log)`);
        const rows = (await admin.pipeline(ids.map((id) => ['hmget', keys.record(id), 'version', 'stateSince'])).exec()) ?? [];
        const done = rows.filter(([, v]) => Number((v as string[])[0]) === E + 1);
        if (done.length === M) { lastCommit = Math.max(...done.map(([, v]) => Number((v as string[])[1]))); break; }
        await sleep(20);
      }
    }
    const sentAt = await sending;
    if (sendError) throw sendError;
    const usage = await stopUsage();
    const roundTrips = counter ? counter.snapshot([redis]) : null;
    const memLoaded = await redisMemory(admin, keys.transitions);
    if (logComplete) {
      const last = (await admin.xrevrange(keys.transitions, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      lastCommit = streamMs(last[0][0]);
    }

    // ---- latency and exactly-once check from the transition log ----
    const commitLat = new Float64Array(total).fill(NaN);
    const applyLat = new Float64Array(total).fill(NaN);
    const seen = new Uint8Array(M * (E + 1));
    let duplicates = 0;
    let wrongOrder = 0;
    const lastVersion = new Int32Array(M);
    let after = '0';
    for (;;) {
      const page: TransitionEvent[] = await engine.transitions.read(after, 5000);
      if (!page.length) break;
      after = page[page.length - 1].id!;
      for (const e of page) {
        const m = indexOf.get(e.machineId);
        if (m === undefined || e.version < 1 || e.version > E + 1) continue;
        if (seen[m * (E + 1) + e.version - 1]++) duplicates++;
        if (e.version <= lastVersion[m]) wrongOrder++;
        lastVersion[m] = e.version;
        if (e.version >= 2) {
          const i = m * E + (e.version - 2);
          commitLat[i] = streamMs(e.id!) - sendTimes[i];
          applyLat[i] = e.at - sendTimes[i];
        }
      }
    }
    let missing = 0;
    if (logComplete) for (let i = 0; i < seen.length; i++) if (!seen[i]) missing++;
    // every machine's record must be at its final version too
    const versions = await admin.pipeline(ids.map((id) => ['hget', keys.record(id), 'version'])).exec();
    const behind = (versions ?? []).filter(([, v]) => Number(v) !== E + 1).length;
    missing += behind;

    const lat = Float64Array.from(commitLat.filter((x) => !Number.isNaN(x))).sort();
    const alat = Float64Array.from(applyLat.filter((x) => !Number.isNaN(x))).sort();
    const durationMs = Math.max(1, lastCommit - firstSend);
    const counts = await engine.queueCounts();
    return {
      machines: M,
      events: total,
      transitionsPerSec: round((total * 1000) / durationMs),
      durationMs,
      sendMs: sentAt - firstSend,
      p50Ms: percentile(lat, 50),
      p90Ms: percentile(lat, 90),
      p99Ms: percentile(lat, 99),
      maxMs: lat.length ? lat[lat.length - 1] : NaN,
      applyP50Ms: percentile(alat, 50),
      applyP99Ms: percentile(alat, 99),
      startsPerSec,
      drainJobs,
      commits,
      eventsPerCommit: round(committedEvents / Math.max(1, commits), 2),
      // this engine's own metrics: conflicts since it was created (the starts cannot conflict)
      commitConflicts: await metricValue(engine.metrics.commitConflicts),
      failedDrainJobs: counts.drain?.failed ?? 0,
      verified: { ok: missing === 0 && duplicates === 0 && wrongOrder === 0, missing, duplicates, wrongOrder, logChecked: logComplete },
      liveMachines: N,
      workerProcesses: children.length,
      transitionLogMaxLen: logMaxLen,
      memory: {
        perIdleMachineBytes: round((memIdle.used - memBefore.used - (memIdle.log - memBefore.log)) / N),
        perLoggedTransitionBytes: logComplete ? round((memLoaded.log - memIdle.log) / total) : NaN,
        usedMb: round(memLoaded.used / 1048576, 1),
      },
      usage: summarize(usage, total),
      ...(roundTrips ? { roundTrips: roundTripProfile(roundTrips, total) } : {}),
    };
  } finally {
    counter?.stop();
    await Promise.all(children.map((c) => stopChild(c)));
    await engine.close();
    redis.disconnect();
    admin.disconnect();
  }
}

/** Redis's used memory and the transition log stream's own (MEMORY USAGE, every entry counted), bytes. */
async function redisMemory(admin: Redis, logKey: string): Promise<{ used: number; log: number }> {
  const info = await admin.info('memory');
  const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
  const log = Number((await admin.call('MEMORY', 'USAGE', logKey, 'SAMPLES', '0')) ?? 0);
  return { used, log };
}

/** `n` worker processes (bench/engine-worker.ts) on the engine's prefix, each ready when this resolves. */
async function startWorkerProcesses(redisUrl: string, prefix: string, n: number, drainConcurrency: number, logMaxLen: number): Promise<ChildProcess[]> {
  const script = fileURLToPath(new URL('./engine-worker.ts', import.meta.url));
  return Promise.all(Array.from({ length: n }, () => new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, redisUrl, prefix, String(drainConcurrency), String(logMaxLen)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(child); });
    child.once('exit', (code) => reject(new Error(`bench worker process exited with ${code} before it was ready`)));
  })));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function streamMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

export async function metricValue(metric: { get(): Promise<{ values: Array<{ value: number }> }> | { values: Array<{ value: number }> } }): Promise<number> {
  const v = await metric.get();
  return v.values.reduce((a, b) => a + b.value, 0);
}

function roundTripProfile(c: CommandCount, events: number): RoundTripProfile {
  const { perUnit, byName } = roundTripsPer(c, events);
  return { perEvent: perUnit, byName };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms); })]);
  } finally {
    clearTimeout(t);
  }
}

// ---- the suite -----------------------------------------------------------------------------

/** Runs the raw BullMQ baseline and the engine load in one process, against the same Redis. */
export async function runEngineBench(options: Partial<EngineBenchOptions> = {}): Promise<EngineBenchReport> {
  const opts = { ...defaultOptions(), ...options };
  const body = async (url: string, owned: boolean): Promise<EngineBenchReport> => {
    // between phases, empty a server this bench started; never someone else's (unique prefixes keep phases apart)
    const flush = owned ? flushAll : async () => {};
    if (opts.warmup) {
      // JIT, script loading and connection setup out of the measured phases
      await runRawBullmq(url, Math.min(2000, opts.rawJobs), opts);
      await runEngineLoad(url, { ...opts, machines: Math.min(100, opts.machines), eventsPerMachine: Math.min(5, opts.eventsPerMachine), profile: false });
      await flush(url);
    }
    const raws: RawBullmqResult[] = [];
    const engines: EngineResult[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      raws.push(await runRawBullmq(url, opts.rawJobs, opts));
      await flush(url);
      engines.push(await runEngineLoad(url, opts));
      await flush(url);
      process.stderr.write(`bench: round ${r + 1}/${opts.rounds}: engine ${engines[r].transitionsPerSec} transitions/s, raw ${raws[r].jobsPerSec} jobs/s\n`);
    }
    let pacedLatency: PacedLatency | null = null;
    let pacedOk = true;
    if (opts.pacedRate > 0) {
      const p = await runEngineLoad(url, { ...opts, eventsPerMachine: opts.pacedEventsPerMachine, ratePerSec: opts.pacedRate, profile: false });
      await flush(url);
      pacedLatency = {
        ratePerSec: opts.pacedRate, events: p.events, transitionsPerSec: p.transitionsPerSec,
        p50Ms: p.p50Ms, p90Ms: p.p90Ms, p99Ms: p.p99Ms, maxMs: p.maxMs, eventsPerCommit: p.eventsPerCommit,
      };
      pacedOk = p.verified.ok;
    }
    const scale = await runScaleFigures((o) => runEngineLoad(url, o), opts, opts.scale, () => flush(url));
    const engine = medianBy(engines, (e) => e.transitionsPerSec);
    const rawBullmq = medianBy(raws, (b) => b.jobsPerSec);
    const ratio = round(engine.transitionsPerSec / rawBullmq.jobsPerSec, 3);
    const transitionsPerSecMet = engine.machines >= TARGETS.machines && engine.transitionsPerSec >= TARGETS.transitionsPerSec;
    const ratioMet = ratio >= TARGETS.ratio;
    const verified = pacedOk && engines.every((e) => e.verified.ok);
    return {
      engine, rawBullmq, ratio,
      rounds: engines.map((e, i) => ({
        transitionsPerSec: e.transitionsPerSec, jobsPerSec: raws[i].jobsPerSec, ratio: round(e.transitionsPerSec / raws[i].jobsPerSec, 3),
        p50Ms: e.p50Ms, p99Ms: e.p99Ms, eventsPerCommit: e.eventsPerCommit,
      })),
      pacedLatency,
      scale,
      targets: { ...TARGETS, transitionsPerSecMet, ratioMet },
      ok: transitionsPerSecMet && ratioMet && verified && (scale?.ok ?? true),
    };
  };
  if (opts.redisUrl) return body(opts.redisUrl, false);
  return withTestRedis((redis) => body(redis.url, true));
}

async function flushAll(url: string): Promise<void> {
  const r = new Redis(url);
  try {
    await r.flushall();
  } finally {
    r.disconnect();
  }
}

export function formatReport(r: EngineBenchReport): string {
  const e = r.engine;
  const b = r.rawBullmq;
  const lines = [
    ...r.rounds.map((x, i) => `round ${i + 1}      engine ${x.transitionsPerSec.toFixed(0)} transitions/s, raw ${x.jobsPerSec.toFixed(0)} jobs/s, ratio ${x.ratio.toFixed(3)}, p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, ${x.eventsPerCommit} events/commit`),
    `median round (${r.rounds.length} rounds):`,
    `raw BullMQ   ${b.jobs} no-op jobs, concurrency ${b.concurrency}: ${b.jobsPerSec.toFixed(0)} jobs/s (${b.durationMs} ms; adds done after ${b.addMs} ms)`,
    `             node CPU ${b.usage.nodeCpuPct}%, event loop busy ${(100 * b.usage.eventLoopUtilization).toFixed(0)}%, redis CPU ${b.usage.redisCpuPct}%, ${b.usage.redisCommandsPerUnit} redis cmds/job`,
    `engine       ${e.machines} machines x ${e.events / e.machines} events = ${e.events} transitions: ${e.transitionsPerSec.toFixed(0)} transitions/s (${e.durationMs} ms; sends done after ${e.sendMs} ms)`,
    `             latency send->commit p50 ${e.p50Ms} ms, p90 ${e.p90Ms} ms, p99 ${e.p99Ms} ms, max ${e.maxMs} ms`,
    `             ${e.drainJobs} drain jobs, ${e.commits} commits, ${e.eventsPerCommit} events/commit, ${e.commitConflicts} conflicts, ${e.failedDrainJobs} failed drain jobs; starts ${e.startsPerSec.toFixed(0)}/s`,
    `             node CPU ${e.usage.nodeCpuPct}%, event loop busy ${(100 * e.usage.eventLoopUtilization).toFixed(0)}%, redis CPU ${e.usage.redisCpuPct}%, ${e.usage.redisCommandsPerUnit} redis cmds/event`,
    `             log check: ${e.verified.ok ? 'every transition exactly once, in order' : `FAILED ${JSON.stringify(e.verified)}`}`,
  ];
  if (e.roundTrips) {
    lines.push(`             client round trips/event ${e.roundTrips.perEvent}: ${Object.entries(e.roundTrips.byName).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const p = r.pacedLatency;
  if (p) {
    lines.push(`paced        ${p.events} events at ${p.ratePerSec}/s: latency send->commit p50 ${p.p50Ms} ms, p90 ${p.p90Ms} ms, p99 ${p.p99Ms} ms, max ${p.maxMs} ms (${p.eventsPerCommit} events/commit)`);
  }
  if (r.scale) lines.push(...formatScale(r.scale));
  lines.push(
    `ratio        engine/raw = ${r.ratio.toFixed(3)}`,
    `targets      >= ${r.targets.transitionsPerSec} transitions/s with ${r.targets.machines} machines: ${passFail(r.targets.transitionsPerSecMet)}; ratio >= ${r.targets.ratio}: ${passFail(r.targets.ratioMet)}`,
    `result       ${r.ok ? 'OK' : 'NOT OK'}`,
  );
  return lines.join('\n');
}

/** The JSON summary line: headline figures first, diagnostics after. */
export function reportJson(r: EngineBenchReport): string {
  const { machines, events, transitionsPerSec, p50Ms, p99Ms, ...engineRest } = r.engine;
  const { jobs, jobsPerSec, ...rawRest } = r.rawBullmq;
  return JSON.stringify({
    engine: { machines, events, transitionsPerSec, p50Ms, p99Ms, ...engineRest },
    rawBullmq: { jobs, jobsPerSec, ...rawRest },
    ratio: r.ratio,
    rounds: r.rounds,
    pacedLatency: r.pacedLatency,
    scale: r.scale,
    targets: r.targets,
    ok: r.ok,
  });
}

export async function main(): Promise<void> {
  const opts = defaultOptions();
  process.stderr.write(`bench: raw BullMQ ${opts.rawJobs} jobs, engine ${opts.machines} machines x ${opts.eventsPerMachine} events${opts.profile ? ' (profiling round trips)' : ''}...\n`);
  printReport(await runEngineBench(opts), formatReport, reportJson);
}

runIfMain(import.meta.url, main);
