/**
 * Planning at scale: `planReplication` (src/replication/planner.ts: listing both sides, the
 * incremental path of every filesystem) over 100 filesystems × 10,000 snapshots per side, the
 * receiver one snapshot behind on each (an incremental run of one step per filesystem), on a
 * driver-level fixture: an in-memory StorageDriver, so the figure is the planner's own cost. Then
 * the same plan on real dir endpoints (the dir driver reads one meta.json per snapshot) at a size
 * a bench can build on disk (BENCH_PLANNING_DIR_FILESYSTEMS × BENCH_PLANNING_DIR_SNAPSHOTS),
 * reported per snapshot listed.
 *
 *   node --import tsx bench/planning.bench.ts        (or BENCH_PARTS=planning npm run bench)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Version } from '../machines/version.js';
import { planReplication } from '../src/replication/planner.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { envInt, medianBy, passFail, printReport, round, runIfMain } from './lib.js';

/** planning every filesystem on the fixture must take at most this long, ms */
const TARGET_MS = 2000;

export interface PlanningReport {
  filesystems: number;
  snapshotsPerFilesystem: number;
  rounds: number;
  /** median wall time of one planReplication over the fixture, ms */
  planMs: number;
  /** steps planned (one per filesystem) */
  steps: number;
  dir: { filesystems: number; snapshotsPerFilesystem: number; planMs: number; usPerSnapshotListed: number };
  target: { planMs: number };
  ok: boolean;
}

const guid = (fs: number, i: number) => `${fs.toString(16).padStart(8, '0')}${i.toString(16).padStart(24, '0')}`;

function versions(fs: number, count: number): Version[] {
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: count }, (_, i) => ({ name: `ferry_${i}`, guid: guid(fs, i), createtxg: i + 1, creation: new Date(t0 + i * 600_000).toISOString() }));
}

/** A driver over versions held in memory: what the planner asks of any driver, at no I/O cost. */
function fixtureDriver(endpoint: string, byFs: Map<string, Version[]>): StorageDriver {
  const refuse = async (): Promise<never> => {
    throw new Error('the planning fixture only lists');
  };
  return {
    kind: 'dir', endpoint, capabilities: { batch: false, resumable: false, atomicSnapshots: false },
    listFilesystems: async () => [...byFs.keys()],
    listVersions: async (fs) => byFs.get(fs) ?? [],
    snapshot: refuse, destroySnapshot: refuse, send: refuse, receive: refuse,
  };
}

/** Dir endpoints as the dir driver lays them out, written directly (meta.json per snapshot; data dirs empty). */
function dirFixture(root: string, filesystems: number, perFs: number, drop: number): void {
  for (let fs = 0; fs < filesystems; fs++) {
    const name = `fs${String(fs).padStart(3, '0')}`;
    mkdirSync(join(root, name), { recursive: true });
    for (const v of versions(fs, perFs - drop)) {
      const dir = join(root, '.ferry', 'snapshots', name, v.name);
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(join(dir, 'manifest.json'), '{"format":"ferry-dir-manifest-v1","entries":[]}');
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ format: 'ferry-dir-meta-v1', fs: name, name: v.name, guid: v.guid, createtxg: v.createtxg, creation: v.creation, manifest: 'manifest.json' }));
    }
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export async function runPlanningBench(): Promise<PlanningReport> {
  const filesystems = envInt('BENCH_PLANNING_FILESYSTEMS', 100);
  const perFs = envInt('BENCH_PLANNING_SNAPSHOTS', 10_000);
  const rounds = envInt('BENCH_PLANNING_ROUNDS', 5);
  const sender = new Map<string, Version[]>();
  const receiver = new Map<string, Version[]>();
  for (let fs = 0; fs < filesystems; fs++) {
    const all = versions(fs, perFs);
    sender.set(`fs${String(fs).padStart(3, '0')}`, all);
    receiver.set(`fs${String(fs).padStart(3, '0')}`, all.slice(0, -1));
  }
  const opts = { sender: fixtureDriver('dir:/sender', sender), receiver: fixtureDriver('dir:/receiver', receiver), initial: 'most_recent' as const };
  let steps = 0;
  const plan = async () => {
    const p = await planReplication(opts);
    steps = p.filesystems.reduce((n, f) => n + f.steps.length, 0);
    const problem = p.filesystems.find((f) => f.problem);
    if (problem) throw new Error(`planning fixture: ${problem.name}: ${problem.problem}`);
  };
  await plan(); // warm-up (JIT)
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await timed(plan));
  if (steps !== filesystems) throw new Error(`expected one step per filesystem, planned ${steps}`);

  const dirFs = envInt('BENCH_PLANNING_DIR_FILESYSTEMS', 10);
  const dirPerFs = envInt('BENCH_PLANNING_DIR_SNAPSHOTS', 1000);
  const base = mkdtempSync(join(tmpdir(), 'ferry-bench-planning-'));
  let dirMs: number;
  try {
    dirFixture(join(base, 's'), dirFs, dirPerFs, 0);
    dirFixture(join(base, 'r'), dirFs, dirPerFs, 1);
    const dirOpts = { sender: createDirDriver(join(base, 's')), receiver: createDirDriver(join(base, 'r')), initial: 'most_recent' as const };
    await planReplication(dirOpts);
    const dirTimes: number[] = [];
    for (let i = 0; i < Math.min(rounds, 3); i++) dirTimes.push(await timed(() => planReplication(dirOpts)));
    dirMs = medianBy(dirTimes, (x) => x);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const planMs = medianBy(times, (x) => x);
  return {
    filesystems, snapshotsPerFilesystem: perFs, rounds, planMs: round(planMs), steps,
    dir: { filesystems: dirFs, snapshotsPerFilesystem: dirPerFs, planMs: round(dirMs), usPerSnapshotListed: round((dirMs * 1000) / (dirFs * (2 * dirPerFs - 1)), 2) },
    target: { planMs: TARGET_MS }, ok: planMs <= TARGET_MS,
  };
}

export function formatPlanningReport(r: PlanningReport): string {
  return [
    `replication planning, ${r.filesystems} filesystems × ${r.snapshotsPerFilesystem} snapshots per side (receiver one behind), median of ${r.rounds}:`,
    `  driver-level fixture (in memory)  ${r.planMs} ms, ${r.steps} steps  (target <= ${r.target.planMs} ms: ${passFail(r.ok)})`,
    `  dir endpoints on disk, ${r.dir.filesystems} × ${r.dir.snapshotsPerFilesystem}: ${r.dir.planMs} ms, ${r.dir.usPerSnapshotListed} µs per snapshot listed`,
  ].join('\n');
}

export const planningReportJson = (r: PlanningReport): string => JSON.stringify(r);

runIfMain(import.meta.url, async () => printReport(await runPlanningBench(), formatPlanningReport, planningReportJson));
