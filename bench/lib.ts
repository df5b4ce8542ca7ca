import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Pipeline, Redis } from 'ioredis';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { startTestRedis } from '../test/helpers/redis.js';

/**
 * Shared helpers for the benchmarks in bench/: a throwaway redis-server, timing, percentiles,
 * resource accounting and an optional client-side Redis command counter.
 */

/** true when `importMetaUrl` is the module node was started with */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  return !!entry && importMetaUrl === pathToFileURL(entry).href;
}

/**
 * The tail of a bench file run on its own (`node --import tsx bench/<part>.bench.ts`): runs `main`,
 * and on a failure prints it and sets the exit code (`exitCodeOf`, 1 by default). Nothing when the
 * file is imported (bench/run.ts).
 */
export function runIfMain(importMetaUrl: string, main: () => Promise<void>, exitCodeOf: (err: unknown) => number = () => 1): void {
  if (!isMain(importMetaUrl)) return;
  main().catch((err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = exitCodeOf(err);
  });
}

/** A part's report on stdout: its figures, then the JSON summary line; BENCH_STRICT=1 exits 1 when it is not ok. */
export function printReport<R extends { ok: boolean }>(report: R, format: (r: R) => string, json: (r: R) => string): void {
  process.stdout.write(`${format(report)}\n${json(report)}\n`);
  if (!report.ok && process.env.BENCH_STRICT === '1') process.exitCode = 1;
}

/** a target line's verdict */
export const passFail = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return Math.floor(n);
}

/**
 * Runs `fn` against a fresh redis-server (real server on a free loopback port, AOF off) and
 * stops it afterwards, also when `fn` throws or the process is interrupted.
 */
export async function withTestRedis<T>(fn: (redis: EmbeddedRedis) => Promise<T>): Promise<T> {
  const redis = await startTestRedis({ appendonly: false });
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`bench: ${sig}, stopping redis-server (pid ${redis.pid})\n`);
    redis.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(redis);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await redis.stop();
  }
}

/** nearest-rank percentile of an ascending array */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** the element with the median key (the lower middle one for an even count) */
export function medianBy<T>(items: T[], key: (t: T) => number): T {
  if (!items.length) throw new Error('no results');
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** the middle value; of an even count, the mean of the middle two (medianBy takes the lower one) */
export function median(xs: number[]): number {
  if (!xs.length) throw new Error('no results');
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `count` tasks with at most `parallel` in flight; `task(i)` is called in index order. */
export async function pool(count: number, parallel: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(lanes);
}

// ---- resource accounting ------------------------------------------------------

export interface ResourceUsage {
  wallMs: number;
  /** CPU of this node process (all threads), ms */
  nodeCpuMs: number;
  /** share of wall time the main event loop was busy, 0..1 */
  eventLoopUtilization: number;
  /** CPU of the redis-server process, ms */
  redisCpuMs: number;
  /** commands redis executed, including those run inside Lua scripts */
  redisCommands: number;
  /** per-command call counts from INFO commandstats (includes commands run inside scripts) */
  redisCommandStats: Record<string, number>;
}

async function redisCpuMs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (get('used_cpu_sys') + get('used_cpu_user')) * 1000;
}

async function commandStats(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** Measures wall time, node CPU, event-loop busy share and redis-server CPU/commands over a phase. */
export async function startUsage(admin: Redis): Promise<() => Promise<ResourceUsage>> {
  await admin.config('RESETSTAT');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const rcpu0 = await redisCpuMs(admin);
  return async () => {
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    const rcpu = await redisCpuMs(admin);
    const stats = await commandStats(admin);
    // leave out the accounting's own INFO/CONFIG calls
    delete stats.info;
    delete stats.config;
    return {
      wallMs,
      nodeCpuMs: (cpu.user + cpu.system) / 1000,
      eventLoopUtilization: elu.utilization,
      redisCpuMs: rcpu - rcpu0,
      redisCommands: Object.values(stats).reduce((a, b) => a + b, 0),
      redisCommandStats: stats,
    };
  };
}

// ---- client-side command counting (profiling) -------------------------------------

export interface CommandCount {
  /** requests written to Redis outside a pipeline/MULTI: each is a round trip */
  roundTrips: number;
  /** pipelines/MULTIs written: one round trip each */
  pipelines: number;
  /** commands inside pipelines */
  pipelinedCommands: number;
  /** by command name; EVALSHA is reported by script name (`script:<name>`) */
  byName: Record<string, number>;
}

/**
 * Counts commands every ioredis client of this process sends, by patching the ioredis prototype.
 * Only for profiling runs: adds a little overhead per command. `stop()` restores the prototype.
 */
export function countRedisCommands(): { snapshot(clients: Redis[]): CommandCount; reset(): void; stop(): void } {
  const proto = Redis.prototype as unknown as { sendCommand: (cmd: any, stream?: unknown, node?: unknown) => unknown };
  const pipelineProto = Pipeline.prototype as unknown as { exec: (...a: unknown[]) => unknown };
  const origSend = proto.sendCommand;
  const origExec = pipelineProto.exec;
  let counts = new Map<string, number>();
  let roundTrips = 0;
  let pipelines = 0;
  let pipelined = 0;
  proto.sendCommand = function (this: unknown, cmd: any, stream?: unknown, node?: unknown) {
    let name = String(cmd?.name ?? '?');
    if (name === 'evalsha' || name === 'eval') {
      const first = cmd.args?.[0];
      name = `${name}:${name === 'eval' ? sha1(String(first)) : String(first)}`;
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (stream) pipelined++;
    else roundTrips++;
    return origSend.call(this, cmd, stream, node);
  };
  pipelineProto.exec = function (this: unknown, ...a: unknown[]) {
    pipelines++;
    return origExec.apply(this, a);
  };
  return {
    reset() {
      counts = new Map();
      roundTrips = pipelines = pipelined = 0;
    },
    snapshot(clients) {
      const names = new Map<string, string>();
      for (const c of clients) {
        const set = (c as unknown as { scriptsSet?: Record<string, { sha: string }> }).scriptsSet ?? {};
        for (const [n, s] of Object.entries(set)) names.set(s.sha, n);
      }
      const byName: Record<string, number> = {};
      for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) {
        const m = /^(evalsha|eval):(.*)$/.exec(k);
        const key = m ? `script:${names.get(m[2]) ?? m[2].slice(0, 8)}` : k;
        byName[key] = (byName[key] ?? 0) + v;
      }
      return { roundTrips, pipelines, pipelinedCommands: pipelined, byName };
    },
    stop() {
      proto.sendCommand = origSend;
      pipelineProto.exec = origExec;
    },
  };
}

/** Client round trips per unit of work (event, entry), and the commands sent at least 0.01 times per unit. */
export function roundTripsPer(c: CommandCount, units: number): { perUnit: number; byName: Record<string, number> } {
  const byName: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.byName)) if (v / units >= 0.01) byName[k] = round(v / units, 2);
  return { perUnit: round((c.roundTrips + c.pipelines) / units, 2), byName };
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}
