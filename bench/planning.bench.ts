/**
 * Planning at scale: `planReplication` (src/replication/planner.ts: listing both sides, the
 * incremental path of every filesystem) over 100 filesystems × 10,000 snapshots per side, the
 * receiver one snapshot behind on each (an incremental run of one step per filesystem), on a
 * driver-level fixture: an in-memory StorageDriver, so the figure is the planner's own cost. Then
 * the same plan on real dir endpoints on disk, at the same size by default
 * (BENCH_PLANNING_DIR_FILESYSTEMS × BENCH_PLANNING_DIR_SNAPSHOTS): a directory per snapshot and
 * the index per filesystem the driver lists from (src/storage/dir/snapshot-index.ts). And, for
 * comparison, small dir endpoints without an index (a meta.json read per snapshot), per snapshot
 * listed.
 *
 *   node --import tsx bench/planning.bench.ts        (or BENCH_PARTS=planning npm run bench)
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Version } from '../machines/version.js';
import { planReplication } from '../src/replication/planner.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { makeLayout } from '../src/storage/dir/layout.js';
import { dropIndex, writeIndex } from '../src/storage/dir/snapshot-index.js';
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
  /** the same plan on dir endpoints on disk, listed from their indexes; `ok` needs planMs within the target too */
  dir: { filesystems: number; snapshotsPerFilesystem: number; planMs: number; buildMs: number; usPerSnapshotListed: number };
  /** small dir endpoints without an index: a meta.json read per snapshot (what every listing did before the index) */
  dirMetas: { filesystems: number; snapshotsPerFilesystem: number; planMs: number; usPerSnapshotListed: number };
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

/**
 * Dir endpoints as the dir driver lays them out, written directly. `metas`: every snapshot a full
 * directory (data/, manifest.json, meta.json) and no index, so listings read every meta.json.
 * Otherwise a directory per snapshot and the index the driver writes (src/storage/dir/snapshot-index.ts):
 * what a listing reads while the index agrees with the directories (it never opens them).
 */
async function dirFixture(root: string, filesystems: number, perFs: number, drop: number, metas: boolean): Promise<void> {
  const layout = makeLayout(root);
  for (let fs = 0; fs < filesystems; fs++) {
    const name = `fs${String(fs).padStart(3, '0')}`;
    mkdirSync(join(root, name), { recursive: true });
    mkdirSync(layout.snapshotsDir(name), { recursive: true });
    const list = versions(fs, perFs - drop);
    for (const v of list) {
      const dir = layout.snapshotDir(name, v.name);
      if (!metas) {
        mkdirSync(dir);
        continue;
      }
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(join(dir, 'manifest.json'), '{"format":"ferry-dir-manifest-v1","entries":[]}');
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ format: 'ferry-dir-meta-v1', fs: name, name: v.name, guid: v.guid, createtxg: v.createtxg, creation: v.creation, manifest: 'manifest.json' }));
    }
    if (metas) await dropIndex(layout, name);
    else await writeIndex(layout, name, list);
  }
}

/** Plan the two dir endpoints under `base` (built first), median of `rounds` after a warm-up. */
async function planDirs(base: string, filesystems: number, perFs: number, metas: boolean, rounds: number): Promise<{ planMs: number; buildMs: number }> {
  const built = performance.now();
  await dirFixture(join(base, 's'), filesystems, perFs, 0, metas);
  await dirFixture(join(base, 'r'), filesystems, perFs, 1, metas);
  const buildMs = performance.now() - built;
  const opts = { sender: createDirDriver(join(base, 's')), receiver: createDirDriver(join(base, 'r')), initial: 'most_recent' as const };
  const check = async () => {
    const plan = await planReplication(opts);
    const steps = plan.filesystems.reduce((n, f) => n + f.steps.length, 0);
    if (steps !== filesystems || plan.filesystems.some((f) => f.problem)) throw new Error(`dir planning: expected one step per filesystem, planned ${steps}`);
  };
  await check();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await timed(check));
  return { planMs: medianBy(times, (x) => x), buildMs };
}

/** A temp dir for the on-disk fixture: tmpfs when there is one (two million directories are built and removed far faster there; listings read the same files). */
function fixtureBase(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ferry-bench-planning-'));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** The in-memory fixture's plans, median ms; its two million versions are garbage once it returns (not a load on the dir figure's GC). */
async function planFixture(filesystems: number, perFs: number, rounds: number): Promise<{ planMs: number; steps: number }> {
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
  return { planMs: medianBy(times, (x) => x), steps };
}

export async function runPlanningBench(): Promise<PlanningReport> {
  const filesystems = envInt('BENCH_PLANNING_FILESYSTEMS', 100);
  const perFs = envInt('BENCH_PLANNING_SNAPSHOTS', 10_000);
  const rounds = envInt('BENCH_PLANNING_ROUNDS', 5);
  const { planMs, steps } = await planFixture(filesystems, perFs, rounds);

  const dirFs = envInt('BENCH_PLANNING_DIR_FILESYSTEMS', filesystems);
  const dirPerFs = envInt('BENCH_PLANNING_DIR_SNAPSHOTS', perFs);
  let dir: { planMs: number; buildMs: number };
  const base = fixtureBase();
  try {
    dir = await planDirs(base, dirFs, dirPerFs, false, Math.min(rounds, 3));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const metaFs = envInt('BENCH_PLANNING_METAS_FILESYSTEMS', 10);
  const metaPerFs = envInt('BENCH_PLANNING_METAS_SNAPSHOTS', 1000);
  let metas: { planMs: number };
  const metaBase = mkdtempSync(join(tmpdir(), 'ferry-bench-planning-'));
  try {
    metas = await planDirs(metaBase, metaFs, metaPerFs, true, Math.min(rounds, 3));
  } finally {
    rmSync(metaBase, { recursive: true, force: true });
  }
  const perSnapshot = (ms: number, fs: number, per: number) => round((ms * 1000) / (fs * (2 * per - 1)), 2);
  return {
    filesystems, snapshotsPerFilesystem: perFs, rounds, planMs: round(planMs), steps,
    dir: { filesystems: dirFs, snapshotsPerFilesystem: dirPerFs, planMs: round(dir.planMs), buildMs: round(dir.buildMs), usPerSnapshotListed: perSnapshot(dir.planMs, dirFs, dirPerFs) },
    dirMetas: { filesystems: metaFs, snapshotsPerFilesystem: metaPerFs, planMs: round(metas.planMs), usPerSnapshotListed: perSnapshot(metas.planMs, metaFs, metaPerFs) },
    target: { planMs: TARGET_MS }, ok: planMs <= TARGET_MS && dir.planMs <= TARGET_MS,
  };
}

export function formatPlanningReport(r: PlanningReport): string {
  return [
    `replication planning, ${r.filesystems} filesystems × ${r.snapshotsPerFilesystem} snapshots per side (receiver one behind), median of ${r.rounds}:`,
    `  driver-level fixture (in memory)  ${r.planMs} ms, ${r.steps} steps  (target <= ${r.target.planMs} ms: ${passFail(r.planMs <= r.target.planMs)})`,
    `  dir endpoints on disk, ${r.dir.filesystems} × ${r.dir.snapshotsPerFilesystem}, indexed: ${r.dir.planMs} ms, ${r.dir.usPerSnapshotListed} µs per snapshot listed  (target <= ${r.target.planMs} ms: ${passFail(r.dir.planMs <= r.target.planMs)}; built in ${r.dir.buildMs} ms)`,
    `  dir endpoints without an index, ${r.dirMetas.filesystems} × ${r.dirMetas.snapshotsPerFilesystem} (a meta.json per snapshot): ${r.dirMetas.planMs} ms, ${r.dirMetas.usPerSnapshotListed} µs per snapshot listed`,
  ].join('\n');
}

export const planningReportJson = (r: PlanningReport): string => JSON.stringify(r);

runIfMain(import.meta.url, async () => printReport(await runPlanningBench(), formatPlanningReport, planningReportJson));
