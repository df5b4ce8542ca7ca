/**
 * Peers: ferry against the tools operators use today, on the same data, each tool on its own
 * filesystems, a cycle being what a user runs: "snapshot, then replicate". ferry's cycle is one
 * command (`ferry replicate --snapshot-name`), as `btrbk run` is; `ferry-2` is the same cycle as
 * two commands (`ferry snapshot`, then `ferry replicate`), printed beside it.
 *
 *   btrfs (loop-mounted images): ferry against btrbk (`btrbk run`) and a plain
 *     `btrfs subvolume snapshot -r` + `btrfs send [-p] | btrfs receive` loop.
 *   zfs (zfs-fuse pools, under the flock of BENCH_ZFS_LOCK when set): ferry against syncoid
 *     (`zfs snapshot -r` then `syncoid -r --no-sync-snap`).
 *
 * Full and incremental cycles at 1, 10 and 40 filesystems; the no-op (every snapshot already on
 * both sides: `ferry replicate`, `btrbk resume`, `syncoid -r --no-sync-snap`) at 100 and 1,000
 * snapshots, and again with 900 unrelated snapshots on the same filesystems; the btrfs catch-up
 * (100 snapshots the receiver lacks: ferry, ferry --batch, `btrbk resume`, a plain loop). Every
 * receiver tree is compared with its sender after every cycle. btrbk and sanoid are installed from Debian
 * (apt-get) when missing. ferry runs as after `npm ci`: the compiled tree, against one redis-server.
 *
 *   node --import tsx bench/peers.bench.ts    (or BENCH_PARTS=peers npm run bench)
 *   BENCH_PEERS_SCALES=1,10,40  BENCH_PEERS_NOOP=100,1000  BENCH_PEERS_UNRELATED=900  BENCH_PEERS_ROUNDS=3  BENCH_PEERS_CATCHUP=100
 *   BENCH_PEERS_BTRFS=0 / BENCH_PEERS_ZFS=0 skip a half; BENCH_PEERS_NOOP= (empty) skips the no-op (BENCH_PEERS_SCALES=1 with it: the 1-filesystem cycle only)
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { btrfsUnavailable, mountBtrfsImage, type BtrfsMount } from '../test/helpers/btrfs.js';
import { tree, zfsUnavailable, ZfsLab } from '../test/helpers/zfs.js';
import type { RunTiming } from '../src/replication/report.js';
import { envInt, medianBy, passFail, printReport, round, runIfMain, withTestRedis } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** a lock file other zfs users on this machine hold (flock) while they use zfs-fuse; none unless set */
const ZFS_LOCK = process.env.BENCH_ZFS_LOCK ?? '';

/** seconds of one cycle per tool; ratios are ferry / tool */
export interface CycleFigure {
  filesystems: number;
  kind: 'full' | 'incremental' | 'noop' | 'catchup';
  /** for the no-op: snapshots per side, and unrelated snapshots elsewhere on the filesystems; for the catch-up: snapshots to send */
  snapshots?: number;
  unrelated?: number;
  seconds: Record<string, number>;
  ratios: Record<string, number>;
  /** ferry's own breakdown of its last replicate in this figure (its report's timing, ms) */
  ferryTiming?: RunTiming;
  /** the catch-up: ferry --batch / each other tool */
  batchRatios?: Record<string, number>;
}

export interface PeersReport {
  btrfs: CycleFigure[] | { skipped: string };
  zfs: CycleFigure[] | { skipped: string };
  /** the issue's targets, each true/false (absent when its figures are) */
  targets: Record<string, boolean>;
  ok: boolean;
}

// ---- processes ---------------------------------------------------------------------------

function sh(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, LC_ALL: 'C', ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`);
  return r.stdout;
}

const bash = (script: string, env: Record<string, string> = {}) => sh('bash', ['-euo', 'pipefail', '-c', script], env);

/** Seconds `fn` took. */
function seconds(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

/** apt-get install the Debian packages whose programs are missing. */
function ensureInstalled(programs: Record<string, string>): void {
  const missing = Object.entries(programs).filter(([p]) => spawnSync('sh', ['-c', `command -v ${p} || test -x /usr/sbin/${p}`]).status !== 0).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  process.stderr.write(`bench: apt-get install ${missing.join(' ')}\n`);
  sh('apt-get', ['install', '-y', '-q', ...new Set(missing)], { DEBIAN_FRONTEND: 'noninteractive' });
}

// ---- data --------------------------------------------------------------------------------

const fsName = (i: number) => `f${String(i).padStart(3, '0')}`;
/** the snapshot name of cycle `c` */
const cycleName = (c: number) => `c${String(c).padStart(5, '0')}`;

/** the timing of the last `ferry replicate --json` (its report's last line) */
let lastTiming: RunTiming | undefined;

function replicated(stdout: string, record = true): void {
  const report = JSON.parse(stdout.trim().split('\n').pop()!) as { state: string; problem: string | null; timing?: RunTiming };
  if (report.state !== 'Completed') throw new Error(`ferry replicate ended ${report.state}: ${report.problem}`);
  if (record) lastTiming = report.timing;
}

/** A filesystem's files: 16 of 16 KiB; each cycle rewrites two and adds one (cycle tag in the bytes). */
function writeData(dir: string, cycle: number): void {
  const block = (tag: string) => Buffer.alloc(16 * 1024, `${tag}:${cycle}:${dir}\n`);
  if (cycle === 0) for (let i = 0; i < 16; i++) writeFileSync(join(dir, `file${i}.bin`), block(`f${i}`));
  else {
    writeFileSync(join(dir, `file${cycle % 16}.bin`), block('rewrite'));
    writeFileSync(join(dir, `file${(cycle + 7) % 16}.bin`), block('rewrite2'));
    writeFileSync(join(dir, `new${cycle}.bin`), block('new'));
  }
}

/** The receiver's copy must be the sender's live data (snapshots are taken right after writing). */
function verify(tool: string, fs: string, sent: string, received: string | null): void {
  if (received === null) throw new Error(`${tool}: no received snapshot of ${fs}`);
  const a = JSON.stringify(tree(sent));
  const b = JSON.stringify(tree(received));
  if (a !== b) throw new Error(`${tool}: the receiver's ${received} differs from the sender's ${sent}`);
}

/** The entry of `dir` that sorts last among those starting with `prefix`. */
function newest(dir: string, prefix = ''): string | null {
  if (!existsSync(dir)) return null;
  const names = readdirSync(dir).filter((n) => n.startsWith(prefix)).sort();
  return names.length ? join(dir, names[names.length - 1]) : null;
}

// ---- btrfs ---------------------------------------------------------------------------------

interface Tool {
  name: string;
  /** the sender's live directory of filesystem i */
  live(i: number): string;
  /** make the n filesystems (empty subvolumes or datasets) */
  create(n: number): void;
  /** snapshot every filesystem and replicate it */
  cycle(n: number, cycle: number): void;
  /** replicate when there is nothing to send */
  noop(n: number): void;
  /** the received copy of filesystem i's newest snapshot (a directory to compare) */
  received(i: number): string | null;
}

interface Place {
  src: string;
  dst: string;
}

/**
 * The tools, each on its own sender and receiver btrfs (`places`); plain and ferry-2 only when they
 * have a place. `ferry` is one command (`ferry replicate --snapshot-name`, as `btrbk run` is one);
 * `ferry-2` the same cycle as two (`ferry snapshot`, then `ferry replicate`).
 */
function btrfsTools(places: { ferry: Place; btrbk: Place; plain?: Place; ferry2?: Place }, ferry: (args: string[]) => string): Tool[] {
  const { ferry: f, btrbk: b, plain: p, ferry2: f2 } = places;
  const subvolumes = (root: string, n: number) => {
    for (let i = 0; i < n; i++) {
      sh('btrfs', ['-q', 'subvolume', 'create', join(root, fsName(i))]);
      writeData(join(root, fsName(i)), 0);
    }
  };
  // ferry's layout: snapshots of <src>/<fs> in <src>/.ferry/snapshots/<fs>/, received the same way
  const ferryTool = (name: string, at: Place, cycle: (c: number) => void, noop: () => void): Tool => ({
    name,
    live: (i) => join(at.src, fsName(i)),
    create: (n) => subvolumes(at.src, n),
    cycle: (_n, c) => cycle(c),
    noop,
    received: (i) => newest(join(at.dst, '.ferry', 'snapshots', fsName(i))),
  });
  const btrbkConf = join(b.src, '..', 'btrbk.conf');
  const tools: Tool[] = [
    ferryTool('ferry', f, (c) => void replicated(ferry(['replicate', `btrfs:${f.src}`, `btrfs:${f.dst}`, '--snapshot-name', cycleName(c), '--json'])), () => replicated(ferry(['replicate', `btrfs:${f.src}`, `btrfs:${f.dst}`, '--json']))),
    {
      name: 'btrbk',
      live: (i) => join(b.src, fsName(i)),
      create: (n) => {
        subvolumes(b.src, n);
        mkdirSync(join(b.src, '_btrbk_snap'), { recursive: true });
        const subs = Array.from({ length: n }, (_, i) => `  subvolume ${fsName(i)}\n`).join('');
        writeFileSync(btrbkConf, [
          'timestamp_format long-iso', 'snapshot_preserve_min all', 'target_preserve_min all', 'snapshot_dir _btrbk_snap',
          `volume ${b.src}`, `  target send-receive ${b.dst}`, subs,
        ].join('\n'));
      },
      cycle: () => void sh('btrbk', ['-q', '-c', btrbkConf, 'run']),
      noop: () => void sh('btrbk', ['-q', '-c', btrbkConf, 'resume']),
      received: (i) => newest(b.dst, `${fsName(i)}.`),
    },
  ];
  if (f2) {
    tools.push(ferryTool('ferry-2', f2, (c) => {
      ferry(['snapshot', `btrfs:${f2.src}`, '--name', cycleName(c)]);
      replicated(ferry(['replicate', `btrfs:${f2.src}`, `btrfs:${f2.dst}`, '--json']), false);
    }, () => undefined));
  }
  if (!p) return tools;
  tools.push({
    name: 'plain',
    live: (i) => join(p.src, fsName(i)),
    create: (n) => subvolumes(p.src, n),
    cycle: (n, c) => {
      const name = cycleName(c);
      const prev = c > 0 ? cycleName(c - 1) : '';
      bash(`for fs in ${Array.from({ length: n }, (_, i) => fsName(i)).join(' ')}; do
  mkdir -p "$S/.snap/$fs" "$D/$fs"
  btrfs -q subvolume snapshot -r "$S/$fs" "$S/.snap/$fs/${name}"
  if [ -n "${prev}" ]; then btrfs -q send -p "$S/.snap/$fs/${prev}" "$S/.snap/$fs/${name}"; else btrfs -q send "$S/.snap/$fs/${name}"; fi | btrfs -q receive "$D/$fs"
done`, { S: p.src, D: p.dst });
    },
    noop: () => undefined,
    received: (i) => newest(join(p.dst, fsName(i))),
  });
  return tools;
}

/** where a layout keeps the snapshots of filesystem f000, on the sender and the receiver */
function snapshotDirs(layout: 'ferry' | 'btrbk', src: string, dst: string): [string, string] {
  const fs = fsName(0);
  return layout === 'ferry' ? [join(src, '.ferry', 'snapshots', fs), join(dst, '.ferry', 'snapshots', fs)] : [join(src, '_btrbk_snap'), dst];
}

/**
 * `k` snapshots of filesystem f000 made with btrfs directly in a tool's own layout, all on both
 * sides; `pending`: each after a 64-KiB change, and only the first received (what a catch-up sends).
 */
function btrfsHistory(layout: 'ferry' | 'btrbk', src: string, dst: string, k: number, pending = false): void {
  const fs = fsName(0);
  // ferry: <root>/.ferry/snapshots/<fs>/<name>; btrbk: <volume>/_btrbk_snap/<fs>.<time> -> <target>/<fs>.<time>
  const [sdir, ddir] = snapshotDirs(layout, src, dst);
  const name = layout === 'ferry' ? 'h$(printf %05d $i)' : `${fs}.$(date -u -d "@$((1700000000 + i * 60))" +%Y%m%dT%H%M%S+0000)`;
  const change = pending ? `head -c 65536 /dev/urandom > "$S/${fs}/pending$i"` : ':';
  const later = pending ? ':' : 'btrfs -q send -p "$SD/$prev" "$SD/$n" | btrfs -q receive "$DD"';
  bash(`mkdir -p "$SD" "$DD"; prev=
for i in $(seq 1 ${k}); do
  n="${name}"
  ${change}
  btrfs -q subvolume snapshot -r "$S/${fs}" "$SD/$n"
  if [ -z "$prev" ]; then btrfs -q send "$SD/$n" | btrfs -q receive "$DD"; else ${later}; fi
  prev="$n"
done`, { S: src, SD: sdir, DD: ddir });
}

/** `u` snapshots of a subvolume nobody replicates, on the sender's and the receiver's filesystems. */
function btrfsUnrelated(src: string, dst: string, u: number): void {
  bash(`for side in "$S" "$D"; do
  btrfs -q subvolume create "$side/../unrelated"; mkdir -p "$side/../unrelated-snaps"
  for i in $(seq 1 ${u}); do btrfs -q subvolume snapshot -r "$side/../unrelated" "$side/../unrelated-snaps/u$i"; done
done`, { S: src, D: dst });
}

/** `base`'s seconds ÷ each other tool's */
function ratiosOf(s: Record<string, number>, base = 'ferry'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tool, v] of Object.entries(s)) if (tool !== base && v > 0) out[tool] = round(s[base] / v, 2);
  return out;
}

async function btrfsPart(ferry: (args: string[]) => string): Promise<CycleFigure[]> {
  const scales = (process.env.BENCH_PEERS_SCALES ?? '1,10,40').split(',').map(Number);
  const noops = (process.env.BENCH_PEERS_NOOP ?? '100,1000').split(',').filter(Boolean).map(Number);
  const unrelated = envInt('BENCH_PEERS_UNRELATED', 900);
  const catchup = envInt('BENCH_PEERS_CATCHUP', 100);
  const rounds = envInt('BENCH_PEERS_ROUNDS', 3);
  const figures: CycleFigure[] = [];
  const live: BtrfsMount[] = [];
  const mounts = (tag: string): Place => {
    const s = mountBtrfsImage(`${tag}s`, 512);
    const d = mountBtrfsImage(`${tag}d`, 512);
    live.push(s, d);
    // roots below the mountpoint: the unrelated subvolumes go beside them
    mkdirSync(join(s.dir, 'root'));
    mkdirSync(join(d.dir, 'root'));
    return { src: join(s.dir, 'root'), dst: join(d.dir, 'root') };
  };
  try {
    // warm-up, not timed: the first run of a command after a build compiles the bundle and writes
    // its code cache (README "Quick start"), which every later run reads
    const w = mounts('warm');
    sh('btrfs', ['-q', 'subvolume', 'create', join(w.src, 'w')]);
    writeData(join(w.src, 'w'), 0);
    replicated(ferry(['replicate', `btrfs:${w.src}`, `btrfs:${w.dst}`, '--snapshot-name', 'w0', '--json']), false);
    while (live.length) live.pop()!.cleanup();
    for (const n of scales) {
      const tools = btrfsTools({ ferry: mounts(`f${n}`), btrbk: mounts(`b${n}`), plain: mounts(`p${n}`), ferry2: mounts(`g${n}`) }, ferry);
      for (const t of tools) t.create(n);
      const full: Record<string, number> = {};
      const inc: Record<string, number[]> = {};
      let fullTiming: RunTiming | undefined;
      for (const t of tools) {
        full[t.name] = round(seconds(() => t.cycle(n, 0)), 3);
        if (t.name === 'ferry') fullTiming = lastTiming;
        for (let i = 0; i < n; i++) verify(t.name, fsName(i), t.live(i), t.received(i));
      }
      for (let c = 1; c <= rounds; c++) {
        for (const t of tools) {
          for (let i = 0; i < n; i++) writeData(t.live(i), c);
          (inc[t.name] ??= []).push(seconds(() => t.cycle(n, c)));
          for (let i = 0; i < n; i++) verify(t.name, fsName(i), t.live(i), t.received(i));
        }
      }
      const incMedian = Object.fromEntries(Object.entries(inc).map(([k, v]) => [k, round(medianBy(v, (x) => x), 3)]));
      figures.push({ filesystems: n, kind: 'full', seconds: full, ratios: ratiosOf(full), ferryTiming: fullTiming });
      figures.push({ filesystems: n, kind: 'incremental', seconds: incMedian, ratios: ratiosOf(incMedian), ferryTiming: lastTiming });
      process.stderr.write(`bench: peers btrfs ${n}: full ${JSON.stringify(full)} incremental ${JSON.stringify(incMedian)}\n`);
      while (live.length) live.pop()!.cleanup();
    }
    for (const k of noops) {
      const pair = { ferry: mounts(`nf${k}`), btrbk: mounts(`nb${k}`) };
      const tools = btrfsTools(pair, ferry);
      for (const t of tools) {
        t.create(1);
        btrfsHistory(t.name as 'ferry' | 'btrbk', pair[t.name as 'ferry' | 'btrbk'].src, pair[t.name as 'ferry' | 'btrbk'].dst, k);
      }
      const measure = (u: number) => {
        const s: Record<string, number> = {};
        for (const t of tools) {
          t.noop(1); // warm: the first run may still settle state (btrbk's, ferry's Redis)
          s[t.name] = round(medianBy(Array.from({ length: rounds }, () => seconds(() => t.noop(1))), (x) => x), 3);
          verify(t.name, fsName(0), t.name === 'ferry' ? newest(join(t.live(0), '..', '.ferry', 'snapshots', fsName(0)))! : newest(join(t.live(0), '..', '_btrbk_snap'))!, t.received(0));
        }
        figures.push({ filesystems: 1, kind: 'noop', snapshots: k, unrelated: u, seconds: s, ratios: ratiosOf(s), ferryTiming: lastTiming });
        process.stderr.write(`bench: peers btrfs no-op ${k} snapshots, ${u} unrelated: ${JSON.stringify(s)}\n`);
      };
      measure(0);
      if (k === Math.max(...noops) && unrelated > 0) {
        for (const side of Object.values(pair)) btrfsUnrelated(side.src, side.dst, unrelated);
        measure(unrelated);
      }
      while (live.length) live.pop()!.cleanup();
    }
    if (catchup > 0) {
      figures.push(btrfsCatchup(ferry, catchup, { ferry: mounts('cf'), batch: mounts('cb'), btrbk: mounts('ck'), plain: mounts('cp') }));
      while (live.length) live.pop()!.cleanup();
    }
  } finally {
    while (live.length) live.pop()!.cleanup();
  }
  return figures;
}

/**
 * One filesystem whose receiver has only the first of `k` snapshots, as after an outage: ferry
 * (a step per snapshot), ferry --batch (one stream), btrbk resume, and a plain `send -p | receive`
 * per snapshot, each on its own btrfs pair; one run each (a catch-up consumes what it catches up).
 */
function btrfsCatchup(ferry: (args: string[]) => string, k: number, places: { ferry: Place; batch: Place; btrbk: Place; plain: Place }): CycleFigure {
  const tools = btrfsTools({ ferry: places.ferry, btrbk: places.btrbk }, ferry);
  for (const t of tools) t.create(1);
  for (const at of [places.batch, places.plain]) {
    sh('btrfs', ['-q', 'subvolume', 'create', join(at.src, fsName(0))]);
    writeData(join(at.src, fsName(0)), 0);
  }
  const layouts: Array<[keyof typeof places, 'ferry' | 'btrbk']> = [['ferry', 'ferry'], ['batch', 'ferry'], ['btrbk', 'btrbk'], ['plain', 'ferry']];
  for (const [tool, layout] of layouts) btrfsHistory(layout, places[tool].src, places[tool].dst, k, true);
  const btrbk = tools.find((t) => t.name === 'btrbk')!;
  const [plainSrc, plainDst] = snapshotDirs('ferry', places.plain.src, places.plain.dst);
  const runs: Record<keyof typeof places, () => void> = {
    ferry: () => replicated(ferry(['replicate', `btrfs:${places.ferry.src}`, `btrfs:${places.ferry.dst}`, '--json'])),
    batch: () => replicated(ferry(['replicate', `btrfs:${places.batch.src}`, `btrfs:${places.batch.dst}`, '--batch', '--json']), false),
    btrbk: () => btrbk.noop(1), // btrbk resume: the missing backups, one send -p each
    // what ferry's layout holds, but the first, which the receiver has
    plain: () => void bash(`prev=; for n in $(ls "$SD" | sort); do
  if [ -n "$prev" ]; then btrfs -q send -p "$SD/$prev" "$SD/$n" | btrfs -q receive "$DD"; fi
  prev="$n"
done`, { SD: plainSrc, DD: plainDst }),
  };
  const s: Record<string, number> = {};
  for (const [tool, layout] of layouts) {
    const name = tool === 'batch' ? 'ferry --batch' : tool;
    s[name] = round(seconds(runs[tool]), 3);
    const [sdir, ddir] = snapshotDirs(layout, places[tool].src, places[tool].dst);
    // btrbk's target holds every subvolume's backups, named <fs>.<time>
    const prefix = layout === 'ferry' ? '' : `${fsName(0)}.`;
    const got = readdirSync(ddir).filter((n) => n.startsWith(prefix)).length;
    if (got !== k) throw new Error(`${name}: the receiver has ${got} of the ${k} snapshots after the catch-up`);
    verify(name, fsName(0), newest(sdir, prefix)!, newest(ddir, prefix));
  }
  process.stderr.write(`bench: peers btrfs catch-up of ${k} snapshots: ${JSON.stringify(s)}\n`);
  return { filesystems: 1, kind: 'catchup', snapshots: k, seconds: s, ratios: ratiosOf(s), batchRatios: ratiosOf(s, 'ferry --batch'), ferryTiming: lastTiming };
}

// ---- zfs -----------------------------------------------------------------------------------

async function zfsPart(ferry: (args: string[]) => string): Promise<CycleFigure[]> {
  const scales = (process.env.BENCH_PEERS_SCALES ?? '1,10,40').split(',').map(Number);
  const rounds = envInt('BENCH_PEERS_ROUNDS', 3);
  const lab = new ZfsLab();
  await lab.start();
  const figures: CycleFigure[] = [];
  try {
    for (const n of scales) {
      const pools: Record<string, { src: string; dst: string }> = {};
      for (const tool of ['ferry', 'ferry-2', 'syncoid']) {
        const s = await lab.createPool(512);
        const d = await lab.createPool(512);
        await lab.zfs(['create', `${s.name}/data`]);
        for (let i = 0; i < n; i++) {
          await lab.zfs(['create', `${s.name}/data/${fsName(i)}`]);
          writeData(await lab.mountpoint(`${s.name}/data/${fsName(i)}`), 0);
        }
        pools[tool] = { src: `${s.name}/data`, dst: `${d.name}/data` };
      }
      const cycle: Record<string, (c: number) => void> = {
        ferry: (c) => void replicated(ferry(['replicate', `zfs:${pools.ferry.src}`, `zfs:${pools.ferry.dst}`, '--snapshot-name', cycleName(c), '--json'])),
        'ferry-2': (c) => {
          ferry(['snapshot', `zfs:${pools['ferry-2'].src}`, '--name', cycleName(c)]);
          replicated(ferry(['replicate', `zfs:${pools['ferry-2'].src}`, `zfs:${pools['ferry-2'].dst}`, '--json']), false);
        },
        syncoid: (c) => {
          sh('zfs', ['snapshot', '-r', `${pools.syncoid.src}@${cycleName(c)}`]);
          sh('syncoid', ['-r', '--no-sync-snap', '--quiet', pools.syncoid.src, pools.syncoid.dst]);
        },
      };
      const check = async (tool: string, c: number) => {
        for (let i = 0; i < n; i++) {
          const files = await lab.snapshotFiles(`${pools[tool].dst}/${fsName(i)}@${cycleName(c)}`);
          const live = tree(await lab.mountpoint(`${pools[tool].src}/${fsName(i)}`));
          if (JSON.stringify(files) !== JSON.stringify(live)) throw new Error(`${tool}: ${pools[tool].dst}/${fsName(i)}@${cycleName(c)} differs from the sender`);
        }
      };
      const full: Record<string, number> = {};
      const inc: Record<string, number[]> = {};
      let fullTiming: RunTiming | undefined;
      for (const tool of Object.keys(cycle)) {
        full[tool] = round(seconds(() => cycle[tool](0)), 3);
        if (tool === 'ferry') fullTiming = lastTiming;
        await check(tool, 0);
      }
      for (let c = 1; c <= rounds; c++) {
        for (const tool of Object.keys(cycle)) {
          for (let i = 0; i < n; i++) writeData(await lab.mountpoint(`${pools[tool].src}/${fsName(i)}`), c);
          (inc[tool] ??= []).push(seconds(() => cycle[tool](c)));
          await check(tool, c);
        }
      }
      const incMedian = Object.fromEntries(Object.entries(inc).map(([k, v]) => [k, round(medianBy(v, (x) => x), 3)]));
      figures.push({ filesystems: n, kind: 'full', seconds: full, ratios: ratiosOf(full), ferryTiming: fullTiming });
      figures.push({ filesystems: n, kind: 'incremental', seconds: incMedian, ratios: ratiosOf(incMedian), ferryTiming: lastTiming });
      process.stderr.write(`bench: peers zfs ${n}: full ${JSON.stringify(full)} incremental ${JSON.stringify(incMedian)}\n`);
    }
  } finally {
    await lab.stop();
  }
  return figures;
}

// ---- the part ------------------------------------------------------------------------------

/** Runs `fn` holding the zfs lock file (flock) when it exists: zfs tests of other processes share zfs-fuse. */
async function underZfsLock<T>(fn: () => Promise<T>): Promise<T> {
  if (!ZFS_LOCK || !existsSync(ZFS_LOCK)) return fn();
  const fd = openSync(ZFS_LOCK, 'r');
  try {
    // flock(1) locks the open file it is handed as fd 3, which is ours too: the lock lasts until we close it
    process.stderr.write(`bench: waiting for ${ZFS_LOCK}\n`);
    const r = spawnSync('flock', ['-x', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
    if (r.status !== 0) throw new Error(`flock ${ZFS_LOCK} failed (${r.status ?? r.signal})`);
    return await fn();
  } finally {
    closeSync(fd);
  }
}

const find = (figures: CycleFigure[], kind: string, n: number, u = 0, k?: number) =>
  figures.find((f) => f.kind === kind && f.filesystems === n && (kind !== 'noop' || ((f.unrelated ?? 0) === u && (k === undefined || f.snapshots === k))));

function targetsOf(btrfs: CycleFigure[] | null, zfs: CycleFigure[] | null): Record<string, boolean> {
  const t: Record<string, boolean> = {};
  const one = btrfs && find(btrfs, 'incremental', 1);
  if (one) t['btrfs 1 fs incremental within 3x btrbk'] = one.seconds.ferry <= 3 * one.seconds.btrbk;
  const oneZ = zfs && find(zfs, 'incremental', 1);
  if (oneZ) t['zfs 1 fs incremental within 3x syncoid'] = oneZ.seconds.ferry <= 3 * oneZ.seconds.syncoid;
  for (const kind of ['full', 'incremental']) {
    const b = btrfs && find(btrfs, kind, 40);
    if (b) t[`btrfs 40 fs ${kind} no slower than btrbk`] = b.seconds.ferry <= b.seconds.btrbk;
    const z = zfs && find(zfs, kind, 40);
    if (z) t[`zfs 40 fs ${kind} no slower than syncoid`] = z.seconds.ferry <= z.seconds.syncoid;
  }
  const noop = btrfs && find(btrfs, 'noop', 1, 0, 1000);
  if (noop) t['btrfs no-op 1,000 snapshots within 2x btrbk'] = noop.seconds.ferry <= 2 * noop.seconds.btrbk;
  const crowded = btrfs?.find((f) => f.kind === 'noop' && (f.unrelated ?? 0) > 0);
  const base = crowded && btrfs && find(btrfs, 'noop', 1, 0, crowded.snapshots);
  if (crowded && base) t['btrfs no-op changed < 10% by unrelated snapshots'] = crowded.seconds.ferry <= 1.1 * base.seconds.ferry;
  return t;
}

export async function runPeersBench(): Promise<PeersReport> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-peers-'));
  try {
    const out = join(dir, 'tree');
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    if (build.status !== 0) throw new Error(`scripts/build.mjs failed: ${build.stderr.toString().slice(-2000)}`);
    return await withTestRedis(async (redis) => {
      const ferry = (args: string[]) => sh(process.execPath, [join(out, 'bin/ferry.mjs'), ...args], { REDIS_URL: redis.url, FERRY_LOG_LEVEL: 'warn' });
      let btrfs: CycleFigure[] | { skipped: string };
      const noBtrfs = process.env.BENCH_PEERS_BTRFS === '0' ? 'BENCH_PEERS_BTRFS=0' : btrfsUnavailable();
      if (noBtrfs) btrfs = { skipped: noBtrfs };
      else {
        ensureInstalled({ btrbk: 'btrbk' });
        btrfs = await btrfsPart(ferry);
      }
      let zfs: CycleFigure[] | { skipped: string };
      const noZfs = process.env.BENCH_PEERS_ZFS === '0' ? 'BENCH_PEERS_ZFS=0' : zfsUnavailable();
      if (noZfs) zfs = { skipped: noZfs };
      else {
        ensureInstalled({ syncoid: 'sanoid' });
        zfs = await underZfsLock(() => zfsPart(ferry));
      }
      const targets = targetsOf(Array.isArray(btrfs) ? btrfs : null, Array.isArray(zfs) ? zfs : null);
      return { btrfs, zfs, targets, ok: Object.values(targets).every(Boolean) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function formatFigures(title: string, figures: CycleFigure[] | { skipped: string }): string[] {
  if (!Array.isArray(figures)) return [`${title}: skipped (${figures.skipped})`];
  const lines = [`${title} (seconds per cycle; ratio = ferry / tool):`];
  for (const f of figures) {
    const what = f.kind === 'noop' ? `no-op, ${f.snapshots} snapshots${f.unrelated ? ` + ${f.unrelated} unrelated` : ''}`
      : f.kind === 'catchup' ? `catch-up of ${f.snapshots} snapshots, 1 fs` : `${f.kind}, ${f.filesystems} fs`;
    const secs = Object.entries(f.seconds).map(([k, v]) => `${k} ${v}`).join(', ');
    const ratios = Object.entries(f.ratios).map(([k, v]) => `/${k} ${v}`).join(', ');
    lines.push(`  ${what.padEnd(36)} ${secs}${ratios ? `  (ferry ${ratios})` : ''}`);
    if (f.batchRatios) lines.push(`  ${''.padEnd(36)} ferry --batch ${Object.entries(f.batchRatios).map(([k, v]) => `/${k} ${v}`).join(', ')}`);
    const t = f.ferryTiming;
    if (t) lines.push(`  ${''.padEnd(36)} ferry's replicate: ${t.wallMs} ms = planning ${t.planningMs} + steps ${t.stepsMs} (summed) + engine ${t.engineMs}`);
  }
  return lines;
}

export function formatPeersReport(r: PeersReport): string {
  return [
    ...formatFigures('btrfs: ferry (one command), btrbk, ferry-2 (snapshot + replicate), plain send|receive loop', r.btrfs),
    ...formatFigures('zfs (zfs-fuse): ferry (one command), ferry-2 (snapshot + replicate), syncoid', r.zfs),
    'targets:',
    ...Object.entries(r.targets).map(([k, v]) => `  ${k}: ${passFail(v)}`),
  ].join('\n');
}

export const peersReportJson = (r: PeersReport): string => JSON.stringify(r);

runIfMain(import.meta.url, async () => printReport(await runPeersBench(), formatPeersReport, peersReportJson));
