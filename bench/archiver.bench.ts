/**
 * WAL archiver throughput benchmark: node --import tsx bench/archiver.bench.ts
 *
 * Starts its own redis-server (loopback, free port, AOF off) and writes, before any timing, a temp
 * log source of BENCH_ARCHIVER_PARTITIONS partitions x BENCH_ARCHIVER_ENTRIES committed file
 * entries of BENCH_ARCHIVER_ENTRY_BYTES random bytes each (the "master" log). Then per round:
 *  1. ferry's log: a hard-link clone of the master (same inodes, so both phases read the same
 *     cached bytes; ferry prunes only the clone);
 *  2. baseline, first half: a plain sequential loop over the entries of every other partition:
 *     packEntry (the deterministic tarball) -> sha256 -> the file sink's put() (createFileSink:
 *     temp file + fsync, link, checksum side file + fsync, directory fsync) into a fresh sink dir;
 *  3. ferry: a fresh engine with the archiver registry and in-process workers (effectConcurrency =
 *     BENCH_ARCHIVER_WORKERS), scanAndNotify over the clone, timed from the scan's start to the last
 *     commit of the last partition machine reaching Idle; into another fresh sink directory. Per
 *     entry ferry also does what the baseline does not: a sink head() (checksum comparison) and prune
 *     (rename + remove); per batch of up to 64 entries (one archive effect): the sink backoff check in
 *     Redis, acknowledge (position file + fsync, directory fsync), and a durable machine step (effect
 *     job, reply, drain, commit) in Redis;
 *  4. baseline, second half: the other partitions, same loop, same sink.
 * The baseline's rate is all its entries over the time of both halves, so a machine that gets
 * slower or faster during the round (disk writeback, other load) weighs on both sides alike.
 * Dirty pages are flushed (`sync`) before each timed phase.
 * Afterwards it checks that every partition is Idle with every entry archived, that both sinks
 * hold byte-identical tarballs (same sha256 for every key), and that the clone was pruned.
 * Prints human-readable figures on stdout; the last stdout line is one JSON object with them all.
 *
 * Knobs (env): BENCH_ARCHIVER_PARTITIONS (1000), BENCH_ARCHIVER_ENTRIES (20),
 * BENCH_ARCHIVER_ENTRY_BYTES (1024), BENCH_ARCHIVER_WORKERS (4), BENCH_ARCHIVER_ROUNDS (1),
 * BENCH_WARMUP (1; 0 to skip), BENCH_PROFILE (0; 1 counts Redis round trips and fsyncs per entry),
 * BENCH_STRICT (0; 1 exits non-zero when the target is missed), BENCH_REDIS_URL (use this Redis),
 * BENCH_TMPDIR (where the temp logs and sinks go; default the OS temp dir),
 * BENCH_ARCHIVER_TIMEOUT_MS (600000; gives up the ferry phase after this long).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { link, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import type { Engine } from '../src/engine/index.js';
import { entryKey, type PartitionRef } from '../src/archiver/contracts.js';
import { allPartitionStatus, scanAndNotify, scannedMarks, settled, type PartitionStatus } from '../src/archiver/coordinator.js';
import { packEntry } from '../src/archiver/entry-tar.js';
import { commit, createFileLogSource, createPartition, lsnName } from '../src/archiver/log-source/index.js';
import { entryPath, partitionLayout } from '../src/archiver/log-source/layout.js';
import { createFileSink } from '../src/archiver/sinks/file-sink.js';
import type { FerryMetrics } from '../src/observability/metrics.js';
import { archiverEngine, fastArchiveRetry } from '../test/helpers/archiver.js';
import {
  countRedisCommands, envInt, medianBy, passFail, pool, printReport, round, roundTripsPer, runIfMain, sleep, startUsage, withTestRedis,
  type CommandCount, type ResourceUsage,
} from './lib.js';

// ---- options and results -----------------------------------------------------------------

export interface ArchiverBenchOptions {
  /** use this Redis instead of starting a throwaway redis-server (keys stay under `arc*` prefixes) */
  redisUrl?: string;
  partitions: number;
  entriesPerPartition: number;
  /** size of each (file) entry, bytes */
  entryBytes: number;
  /** effect workers (effectConcurrency of the in-process engine workers) */
  workers: number;
  /** measured rounds (baseline halves around ferry, on a fresh clone of the log); headline figures are medians */
  rounds: number;
  warmup: boolean;
  /** count client-side Redis round trips and fsyncs per entry (patches ioredis and FileHandle; slightly slower) */
  profile: boolean;
  /** give up the ferry phase after this long, ms */
  phaseTimeoutMs: number;
  /** parent of the temp directories (logs, sinks) */
  tmpDir: string;
}

export const ARCHIVER_TARGETS = { ratio: 0.8 } as const;

export function defaultArchiverOptions(): ArchiverBenchOptions {
  return {
    redisUrl: process.env.BENCH_REDIS_URL || undefined,
    partitions: envInt('BENCH_ARCHIVER_PARTITIONS', 1000),
    entriesPerPartition: envInt('BENCH_ARCHIVER_ENTRIES', 20),
    entryBytes: envInt('BENCH_ARCHIVER_ENTRY_BYTES', 1024),
    workers: envInt('BENCH_ARCHIVER_WORKERS', 4),
    rounds: envInt('BENCH_ARCHIVER_ROUNDS', 1),
    warmup: process.env.BENCH_WARMUP !== '0',
    profile: process.env.BENCH_PROFILE === '1',
    phaseTimeoutMs: envInt('BENCH_ARCHIVER_TIMEOUT_MS', 600_000),
    tmpDir: process.env.BENCH_TMPDIR || tmpdir(),
  };
}

export interface BaselineResult {
  entries: number;
  entriesPerSec: number;
  /** both halves */
  durationMs: number;
  /** entries/s of the half before ferry and of the half after it */
  halvesEntriesPerSec: [number, number];
  /** tarball bytes written */
  bytes: number;
  /** what the loop does per entry */
  method: string;
  nodeCpuPct: number;
  fsyncsPerEntry?: number;
}

export interface FerryResult {
  partitions: number;
  entries: number;
  workers: number;
  entriesPerSec: number;
  /** scan start -> the last partition machine's commit to Idle */
  durationMs: number;
  /** listPartitions + registering the consumer + start + notify of every partition */
  scanMs: number;
  /** mean time per entry inside archive effects (read, tarball, checksum, head, put; the read overlaps the previous put), ms */
  effectMeanMs: number;
  /** share of the workers' time spent inside archive effects (the rest: engine steps, queueing, idle) */
  workerBusyShare: number;
  /** what ferry does per entry beyond the baseline */
  extraPerEntry: string;
  nodeCpuPct: number;
  eventLoopUtilization: number;
  redisCpuPct: number;
  /** commands redis executed per entry, including those inside Lua scripts */
  redisCommandsPerEntry: number;
  topRedisCommands: Record<string, number>;
  verified: { ok: boolean; problems: string[] };
  roundTripsPerEntry?: number;
  roundTrips?: Record<string, number>;
  fsyncsPerEntry?: number;
}

export interface ArchiverRound {
  baselineEntriesPerSec: number;
  ferryEntriesPerSec: number;
  ratio: number;
}

export interface ArchiverBenchReport {
  /** the round with the median baseline rate */
  baseline: BaselineResult;
  /** the round with the median ferry rate */
  ferry: FerryResult;
  /** median ferry entries/s over median baseline entries/s */
  ratio: number;
  rounds: ArchiverRound[];
  /** untimed preparation: writing the master log, and cloning it for each round */
  setupMs: { master: number; clones: number[] };
  targets: { ratio: number; ratioMet: boolean };
  ok: boolean;
}

// ---- setup ---------------------------------------------------------------------------------

const STORAGE = 'bench';
const partitionName = (i: number) => `p${String(i).padStart(5, '0')}`;
const refOf = (storage: string, i: number): PartitionRef => ({ storage, partition: partitionName(i) });

/**
 * Writes `partitions` x `entries` file entries of `bytes` random bytes each, straight into the
 * log source's layout (no per-entry fsync: this is preparation, not the writer under test), and
 * commits them with the log source's own `commit`, which checks that every entry is in place.
 */
async function writeLog(root: string, storage: string, partitions: number, entries: number, bytes: number): Promise<void> {
  await pool(partitions, 32, async (i) => {
    const ref = refOf(storage, i);
    await createPartition(root, storage, ref.partition);
    const l = partitionLayout(root, ref);
    for (let lsn = 1; lsn <= entries; lsn++) await writeFile(entryPath(l, lsn), randomBytes(bytes), { flag: 'wx' });
    await commit(root, storage, ref.partition, entries);
  });
}

/** A log with the same entries as `from`, hard-linked (same inodes), committed the same. */
async function cloneLog(from: string, to: string, storage: string, partitions: number, entries: number): Promise<void> {
  await pool(partitions, 32, async (i) => {
    const ref = refOf(storage, i);
    await createPartition(to, storage, ref.partition);
    const src = partitionLayout(from, ref);
    const dst = partitionLayout(to, ref);
    for (let lsn = 1; lsn <= entries; lsn++) await link(entryPath(src, lsn), entryPath(dst, lsn));
    await commit(to, storage, ref.partition, entries);
  });
}

/** Writes dirty pages out, so one phase's writeback does not land in the next one's timing. */
function flushDirtyPages(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

// ---- fsync counting (profiling) ------------------------------------------------------------

/** Counts FileHandle.sync/datasync calls of this process (patches the FileHandle prototype). */
async function countFsyncs(probe: string): Promise<{ count(): number; stop(): void }> {
  const fh = await open(probe, 'r');
  const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await fh.close();
  const { sync, datasync } = proto;
  let n = 0;
  proto.sync = function (this: unknown) { n++; return sync.call(this); };
  proto.datasync = function (this: unknown) { n++; return datasync.call(this); };
  return { count: () => n, stop: () => { proto.sync = sync; proto.datasync = datasync; } };
}

// ---- baseline ------------------------------------------------------------------------------

const BASELINE_METHOD = 'sequential loop: packEntry -> sha256 -> createFileSink(...).put (temp file + fsync, link, checksum file + fsync, dir fsync)';

interface BaselinePart { entries: number; ms: number; cpuMs: number; bytes: number; fsyncs: number }

/** The entries of `partitions`, one after the other: deterministic tarball, sha256, the file sink's put. */
export async function runBaselineLoop(log: string, sinkDir: string, storage: string, partitions: number[], entries: number, profile = false): Promise<BaselinePart> {
  const sink = createFileSink(pathToFileURL(sinkDir).href);
  const fsyncs = profile ? await countFsyncs(log) : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let bytes = 0;
  try {
    for (const i of partitions) {
      const ref = refOf(storage, i);
      const layout = partitionLayout(log, ref);
      for (let lsn = 1; lsn <= entries; lsn++) {
        const { stream } = await packEntry(entryPath(layout, lsn), { name: lsnName(lsn) });
        const body = await readAll(stream);
        const sha256 = createHash('sha256').update(body).digest('hex');
        await sink.put(entryKey(ref, lsn), body, { sha256, size: body.length });
        bytes += body.length;
      }
    }
  } finally {
    fsyncs?.stop();
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { entries: partitions.length * entries, ms, cpuMs: (cpu.user + cpu.system) / 1000, bytes, fsyncs: fsyncs?.count() ?? 0 };
}

function baselineResult(parts: BaselinePart[], profile: boolean): BaselineResult {
  const entries = parts.reduce((n, p) => n + p.entries, 0);
  const ms = parts.reduce((n, p) => n + p.ms, 0);
  const rate = (p: BaselinePart) => round((p.entries * 1000) / Math.max(1, p.ms));
  return {
    entries,
    entriesPerSec: round((entries * 1000) / ms),
    durationMs: Math.round(ms),
    halvesEntriesPerSec: [rate(parts[0]), rate(parts[parts.length - 1])],
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    method: BASELINE_METHOD,
    nodeCpuPct: round((100 * parts.reduce((n, p) => n + p.cpuMs, 0)) / ms),
    ...(profile ? { fsyncsPerEntry: round(parts.reduce((n, p) => n + p.fsyncs, 0) / entries, 2) } : {}),
  };
}

// ---- ferry ----------------------------------------------------------------------------------

const FERRY_EXTRA = 'sink head (checksum comparison), prune (rename + remove); per batch of up to 64 entries: sink backoff check (Redis), acknowledge (position file + fsync + dir fsync), durable machine step (effect job, reply, drain, commit)';

/** sum (seconds) and count of the archive effect's latency histogram (successful archives) */
async function effectTime(metrics: FerryMetrics): Promise<{ sum: number; count: number }> {
  const v = await metrics.walArchiveLatency.get();
  const pick = (name: string) => v.values.filter((x) => x.metricName === name).reduce((a, b) => a + b.value, 0);
  return { sum: pick('ferry_wal_archive_latency_seconds_sum'), count: pick('ferry_wal_archive_latency_seconds_count') };
}

async function archiveTotal(metrics: FerryMetrics): Promise<number> {
  const v = await metrics.walArchive.get();
  return v.values.reduce((a, b) => a + b.value, 0);
}

/**
 * Archives the log with `engine` (its workers running), timed from the scan's start until every
 * scanned partition settled. Waits on the in-process archive counter (no load on Redis, unlike
 * polling 1,000 machine records) and then confirms with the partition machines' status; the end
 * time is the last commit's stream id.
 */
async function archiveTimed(engine: Engine, metrics: FerryMetrics, log: string, sinkDir: string, expected: number, timeoutMs: number): Promise<{ t0: number; scanMs: number; endMs: number; status: PartitionStatus[] }> {
  const sink = pathToFileURL(sinkDir).href;
  const before = await archiveTotal(metrics);
  const t0 = Date.now();
  const target = { log, sink, retry: fastArchiveRetry };
  const parts = await scanAndNotify(engine, createFileLogSource(log), target);
  const scanMs = Date.now() - t0;
  const marks = scannedMarks(parts, target);
  const deadline = t0 + timeoutMs;
  // every archive effect counts here once it acknowledged and pruned (or failed)
  for (let done = 0; done < expected; done = (await archiveTotal(metrics)) - before) {
    if (Date.now() > deadline) throw new Error(`ferry: ${done}/${expected} entries handled after ${timeoutMs} ms; queues ${JSON.stringify(await engine.queueCounts().catch(() => ({})))}`);
    await sleep(5);
  }
  // then every machine must have committed its way back to Idle (or Failed)
  for (;;) {
    const all = (await allPartitionStatus(engine)).filter((s) => marks.has(s.id));
    if (all.length >= marks.size && all.every((s) => settled(s, marks.get(s.id)!))) {
      const last = await engine.transitions.lastId();
      return { t0, scanMs, endMs: Number(last.split('-')[0]), status: all };
    }
    if (Date.now() > deadline) throw new Error(`ferry: archiving did not settle after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Same keys and the same sha256 for every key in both file sinks (from the checksum side files). */
async function compareSinks(a: string, b: string, storage: string): Promise<string[]> {
  const sums = async (root: string) => {
    const out = new Map<string, string>();
    for (const partition of await readdir(join(root, storage)).catch(() => [] as string[])) {
      for (const f of await readdir(join(root, storage, partition))) {
        if (f.endsWith('.tar.sha256')) out.set(`${partition}/${f}`, (await readFile(join(root, storage, partition, f), 'utf8')).slice(0, 64));
      }
    }
    return out;
  };
  const [sa, sb] = await Promise.all([sums(a), sums(b)]);
  const problems: string[] = [];
  if (sa.size !== sb.size) problems.push(`the baseline's sink holds ${sa.size} objects, ferry's ${sb.size}`);
  let differ = 0;
  for (const [k, sum] of sa) if (sb.get(k) !== sum) differ++;
  if (differ) problems.push(`${differ} objects differ between the baseline's and ferry's sinks`);
  return problems;
}

/**
 * Ferry on `log` (which it prunes): a fresh engine with `workers` effect workers, first warmed up
 * on `warmLog` if given, then timed on `log`. Checks states and pruning, not the sink's contents.
 */
export async function runFerry(
  redisUrl: string, log: string, sinkDir: string,
  opts: Pick<ArchiverBenchOptions, 'partitions' | 'entriesPerPartition' | 'workers' | 'phaseTimeoutMs' | 'profile'> & { warmLog?: string; warmSinkDir?: string; beforeTiming?: () => void },
): Promise<FerryResult> {
  const P = opts.partitions;
  const E = opts.entriesPerPartition;
  const total = P * E;
  const { engine, metrics } = archiverEngine(redisUrl, { effectConcurrency: opts.workers });
  const admin = new Redis(redisUrl);
  let counter: ReturnType<typeof countRedisCommands> | null = null;
  let fsyncs: Awaited<ReturnType<typeof countFsyncs>> | null = null;
  try {
    // connections, scripts and workers up before the clock starts: a few entries through this engine
    if (opts.warmLog && opts.warmSinkDir) {
      const warm = (await createFileLogSource(opts.warmLog).listPartitions()).reduce((n, p) => n + p.highWaterMark, 0);
      await archiveTimed(engine, metrics, opts.warmLog, opts.warmSinkDir, warm, opts.phaseTimeoutMs);
    }
    opts.beforeTiming?.();
    counter = opts.profile ? countRedisCommands() : null;
    fsyncs = opts.profile ? await countFsyncs(log) : null;
    const stopUsage = await startUsage(admin);
    const cpu0 = process.cpuUsage();
    const eff0 = await effectTime(metrics);
    const r = await archiveTimed(engine, metrics, log, sinkDir, total, opts.phaseTimeoutMs);
    const wallMs = Date.now() - r.t0;
    const usage: ResourceUsage = await stopUsage();
    const cpu = process.cpuUsage(cpu0);
    const eff1 = await effectTime(metrics);
    const roundTrips = counter?.snapshot([engine.connection]) ?? null;
    const fsyncCount = fsyncs?.count() ?? 0;
    counter?.stop();
    fsyncs?.stop();
    counter = null;
    fsyncs = null;

    const problems: string[] = [];
    const notDone = r.status.filter((s) => s.state !== 'Idle' || s.nextLsn !== E + 1 || s.archived + s.present !== E || s.gaps !== 0);
    if (r.status.length !== P) problems.push(`${r.status.length} partition machines, expected ${P}`);
    if (notDone.length) problems.push(`${notDone.length} partitions not fully archived, e.g. ${JSON.stringify(notDone[0])}`);
    const present = r.status.reduce((n, s) => n + s.present, 0);
    if (present) problems.push(`${present} entries were found already in the fresh sink`);
    // pruned below the acknowledged position: only the last entry of each partition is left
    let left = 0;
    for (let i = 0; i < P; i++) left += (await readdir(partitionLayout(log, refOf(STORAGE, i)).entriesDir)).length;
    if (left !== P) problems.push(`${left} entries left in the log after pruning, expected ${P} (the last of each partition)`);

    const durationMs = Math.max(1, r.endMs - r.t0);
    const effectSec = eff1.sum - eff0.sum;
    const top = Object.entries(usage.redisCommandStats).sort((a, b) => b[1] - a[1]).slice(0, 10);
    return {
      partitions: P,
      entries: total,
      workers: opts.workers,
      entriesPerSec: round((total * 1000) / durationMs),
      durationMs,
      scanMs: r.scanMs,
      effectMeanMs: round((1000 * effectSec) / Math.max(1, eff1.count - eff0.count), 2),
      workerBusyShare: round((1000 * effectSec) / (opts.workers * durationMs), 3),
      extraPerEntry: FERRY_EXTRA,
      nodeCpuPct: round((100 * (cpu.user + cpu.system)) / 1000 / wallMs),
      eventLoopUtilization: round(usage.eventLoopUtilization, 3),
      redisCpuPct: round((100 * usage.redisCpuMs) / usage.wallMs),
      redisCommandsPerEntry: round(usage.redisCommands / total, 2),
      topRedisCommands: Object.fromEntries(top.map(([k, v]) => [k, round(v / total, 2)])),
      verified: { ok: problems.length === 0, problems },
      ...(roundTrips ? roundTripProfile(roundTrips, total) : {}),
      ...(opts.profile ? { fsyncsPerEntry: round(fsyncCount / total, 2) } : {}),
    };
  } finally {
    counter?.stop();
    fsyncs?.stop();
    await engine.close();
    admin.disconnect();
  }
}

function roundTripProfile(c: CommandCount, entries: number): { roundTripsPerEntry: number; roundTrips: Record<string, number> } {
  const { perUnit, byName } = roundTripsPer(c, entries);
  return { roundTripsPerEntry: perUnit, roundTrips: byName };
}

// ---- the suite -----------------------------------------------------------------------------

/** One round on a fresh clone of `master`: baseline (half), ferry, baseline (other half), checks. */
async function runRound(redisUrl: string, master: string, dir: string, opts: ArchiverBenchOptions & { warmMaster?: string }): Promise<{ baseline: BaselineResult; ferry: FerryResult; cloneMs: number }> {
  const P = opts.partitions;
  const E = opts.entriesPerPartition;
  const log = join(dir, 'log');
  const t = Date.now();
  await cloneLog(master, log, STORAGE, P, E);
  const cloneMs = Date.now() - t;
  // a small log for the fresh engine's own warm-up (connections, workers, script loading)
  const warmLog = join(dir, 'engine-warm-log');
  await writeLog(warmLog, 'warm', 4, 2, opts.entryBytes);
  const baselineSink = join(dir, 'sink-baseline');
  const ferrySink = join(dir, 'sink-ferry');
  const all = Array.from({ length: P }, (_, i) => i);
  flushDirtyPages();
  const first = await runBaselineLoop(master, baselineSink, STORAGE, all.filter((i) => i % 2 === 0), E, opts.profile);
  const ferry = await runFerry(redisUrl, log, ferrySink, { ...opts, warmLog, warmSinkDir: join(dir, 'engine-warm-sink'), beforeTiming: flushDirtyPages });
  flushDirtyPages();
  const second = await runBaselineLoop(master, baselineSink, STORAGE, all.filter((i) => i % 2 === 1), E, opts.profile);
  const problems = await compareSinks(baselineSink, ferrySink, STORAGE);
  if (problems.length) ferry.verified = { ok: false, problems: [...ferry.verified.problems, ...problems] };
  return { baseline: baselineResult([first, second], opts.profile), ferry, cloneMs };
}

/** Writes the master log, then runs `rounds` rounds of baseline and ferry on it and reports. */
export async function runArchiverBench(options: Partial<ArchiverBenchOptions> = {}): Promise<ArchiverBenchReport> {
  const opts = { ...defaultArchiverOptions(), ...options };
  const P = opts.partitions;
  const E = opts.entriesPerPartition;
  const work = mkdtempSync(join(opts.tmpDir, 'ferry-archiver-bench-'));
  // also on Ctrl-C (withTestRedis stops redis and exits): 'exit' handlers still run
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.once('exit', cleanup);
  const body = async (redisUrl: string): Promise<ArchiverBenchReport> => {
    if (opts.warmup) {
      // JIT of the tar/hash/sink paths and of the engine, out of the measured phases
      const wp = Math.min(20, P);
      const we = Math.min(5, E);
      const wmaster = join(work, 'warm-master');
      await writeLog(wmaster, STORAGE, wp, we, opts.entryBytes);
      await runRound(redisUrl, wmaster, join(work, 'warm-round'), { ...opts, partitions: wp, entriesPerPartition: we, profile: false });
      rmSync(join(work, 'warm-round'), { recursive: true, force: true });
    }
    const master = join(work, 'master');
    let t = Date.now();
    await writeLog(master, STORAGE, P, E, opts.entryBytes);
    const masterMs = Date.now() - t;
    const baselines: BaselineResult[] = [];
    const ferries: FerryResult[] = [];
    const clones: number[] = [];
    for (let r = 1; r <= opts.rounds; r++) {
      const dir = join(work, `round${r}`);
      const res = await runRound(redisUrl, master, dir, opts);
      rmSync(dir, { recursive: true, force: true });
      baselines.push(res.baseline);
      ferries.push(res.ferry);
      clones.push(res.cloneMs);
      process.stderr.write(`bench: archiver round ${r}/${opts.rounds}: ferry ${res.ferry.entriesPerSec} entries/s, baseline ${res.baseline.entriesPerSec} entries/s, ratio ${round(res.ferry.entriesPerSec / res.baseline.entriesPerSec, 3)}\n`);
    }
    const baseline = medianBy(baselines, (b) => b.entriesPerSec);
    const ferry = medianBy(ferries, (f) => f.entriesPerSec);
    const ratio = round(ferry.entriesPerSec / baseline.entriesPerSec, 3);
    const ratioMet = ratio >= ARCHIVER_TARGETS.ratio;
    return {
      baseline, ferry, ratio,
      rounds: ferries.map((f, i) => ({ baselineEntriesPerSec: baselines[i].entriesPerSec, ferryEntriesPerSec: f.entriesPerSec, ratio: round(f.entriesPerSec / baselines[i].entriesPerSec, 3) })),
      setupMs: { master: masterMs, clones },
      targets: { ratio: ARCHIVER_TARGETS.ratio, ratioMet },
      ok: ratioMet && ferries.every((f) => f.verified.ok),
    };
  };
  try {
    if (opts.redisUrl) return await body(opts.redisUrl);
    return await withTestRedis((redis) => body(redis.url));
  } finally {
    process.off('exit', cleanup);
    cleanup();
  }
}

export function formatArchiverReport(r: ArchiverBenchReport): string {
  const b = r.baseline;
  const f = r.ferry;
  const lines = [
    ...(r.rounds.length > 1 ? r.rounds.map((x, i) => `round ${i + 1}      ferry ${x.ferryEntriesPerSec.toFixed(0)} entries/s, baseline ${x.baselineEntriesPerSec.toFixed(0)} entries/s, ratio ${x.ratio.toFixed(3)}`) : []),
    `log          ${f.partitions} partitions x ${f.entries / f.partitions} committed entries = ${f.entries} entries, ${Math.round(b.bytes / b.entries)} tarball bytes each (written in ${(r.setupMs.master / 1000).toFixed(1)} s, not timed)`,
    `baseline     ${b.entriesPerSec.toFixed(0)} entries/s (${b.durationMs} ms; half before ferry ${b.halvesEntriesPerSec[0].toFixed(0)}/s, half after ${b.halvesEntriesPerSec[1].toFixed(0)}/s), node CPU ${b.nodeCpuPct}%${b.fsyncsPerEntry !== undefined ? `, ${b.fsyncsPerEntry} fsyncs/entry` : ''}`,
    `             ${b.method}`,
    `ferry        ${f.entriesPerSec.toFixed(0)} entries/s (${f.durationMs} ms from scan start to the last partition Idle; scan + notify ${f.scanMs} ms), ${f.workers} effect workers`,
    `             archive ${f.effectMeanMs} ms mean per entry; workers inside effects ${(100 * f.workerBusyShare).toFixed(0)}% of the time`,
    `             node CPU ${f.nodeCpuPct}%, event loop busy ${(100 * f.eventLoopUtilization).toFixed(0)}%, redis CPU ${f.redisCpuPct}%, ${f.redisCommandsPerEntry} redis cmds/entry${f.fsyncsPerEntry !== undefined ? `, ${f.fsyncsPerEntry} fsyncs/entry` : ''}`,
    `             also per entry (the baseline does not): ${f.extraPerEntry}`,
    `             check: ${f.verified.ok ? 'every partition Idle with all entries archived, tarballs identical to the baseline\'s, log pruned' : `FAILED: ${f.verified.problems.join('; ')}`}`,
  ];
  if (f.roundTrips) lines.push(`             client round trips/entry ${f.roundTripsPerEntry}: ${Object.entries(f.roundTrips).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(
    `ratio        ferry/baseline = ${r.ratio.toFixed(3)}`,
    `target       ratio >= ${r.targets.ratio}: ${passFail(r.targets.ratioMet)}`,
    `result       ${r.ok ? 'OK' : 'NOT OK'}`,
  );
  return lines.join('\n');
}

/** The JSON summary line: headline figures first, diagnostics after. */
export function archiverReportJson(r: ArchiverBenchReport): string {
  const { entriesPerSec: ferryEntriesPerSec, ...ferryRest } = r.ferry;
  const { entriesPerSec: baselineEntriesPerSec, ...baselineRest } = r.baseline;
  return JSON.stringify({
    ferryEntriesPerSec, baselineEntriesPerSec, ratio: r.ratio,
    ferry: { entriesPerSec: ferryEntriesPerSec, ...ferryRest },
    baseline: { entriesPerSec: baselineEntriesPerSec, ...baselineRest },
    rounds: r.rounds, setupMs: r.setupMs, targets: r.targets, ok: r.ok,
  });
}

export async function main(): Promise<void> {
  const opts = defaultArchiverOptions();
  process.stderr.write(`bench: archiver ${opts.partitions} partitions x ${opts.entriesPerPartition} entries of ${opts.entryBytes} bytes, ${opts.workers} workers, ${opts.rounds} round(s)${opts.profile ? ' (profiling)' : ''}...\n`);
  printReport(await runArchiverBench(opts), formatArchiverReport, archiverReportJson);
}

runIfMain(import.meta.url, main);
