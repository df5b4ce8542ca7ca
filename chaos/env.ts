import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startEmbeddedRedis, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { redisOptions } from '../src/util/redis.js';
import { startSentinelTopology, type SentinelTopology } from '../test/helpers/sentinel.js';
import type { TransitionEvent } from '../src/engine/types.js';
import { isReplicaWaitTimeout, ReplicaWait } from '../src/engine/replica-wait.js';
import type { Figures } from './figures.js';
import { Processes, sleep, type FerryProcess } from './processes.js';
import type { Rng } from './random.js';
import { diffDigests, digestTree } from './trees.js';

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  rng: Rng;
  figures: Figures;
  /** when the scenario should stop injecting faults (ms since epoch); waiting for runs may go past it */
  deadline: number;
  /** a progress line on stderr */
  log(line: string): void;
  /** data sizes are multiplied by this (--scale; 1 by default) */
  scale: number;
}

/** `n` MiB scaled by --scale (at least 256 KiB) */
export function scaledBytes(ctx: ScenarioContext, mib: number): number {
  return Math.max(256 * 1024, Math.round(mib * ctx.scale * 1024 * 1024));
}

/** worker settings: a dead worker's job is taken over within about 3 s */
export const WORKER_FLAGS = ['--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'];
/** how long a run may take to reach a final state after the faults stopped before it counts as lost */
export const SETTLE_MS = 90_000;

/**
 * One scenario's world: a temp dir, a redis-server with AOF on a loopback port (killable and
 * restartable on the same port and data), ferry processes on it, and a reader of the transition log.
 */
export class ChaosEnv {
  readonly dir = mkdtempSync(join(tmpdir(), 'ferry-chaos-'));
  readonly prefix = 'chaos';
  readonly token = 'chaos-token-0123456789';
  readonly tokenFile = join(this.dir, 'token');
  readonly procs: Processes;
  private redis!: EmbeddedRedis;
  private conn!: Redis;
  /** with `{ sentinel: true }`: a primary, two replicas and three sentinels instead of one redis-server */
  topology: SentinelTopology | null = null;
  /** machine id -> its final transition's target state, from the transition log */
  private readonly finals = new Map<string, string>();
  private lastId = '0';
  /** times `conn` lost its connection: a reply after a loss may come from another server */
  private connLosses = 0;
  private confirmer: ReplicaWait | null = null;

  /** every env not closed yet, for the runner's Ctrl-C cleanup */
  static readonly open = new Set<ChaosEnv>();

  private constructor(readonly ctx: ScenarioContext, private redisPort: number) {
    ChaosEnv.open.add(this);
    writeFileSync(this.tokenFile, `${this.token}\n`, { mode: 0o600 });
    // ferry processes run two levels down in the temp dir: a relative path, even "..", stays inside it
    const cwd = join(this.dir, 'cwd', 'ferry');
    mkdirSync(cwd, { recursive: true });
    this.procs = new Processes(ctx.figures, { FERRY_LOG_LEVEL: 'warn' }, cwd);
  }

  /**
   * Runs `fn` in a fresh env and closes it whatever happens; when `fn` succeeds, the transition
   * log is checked for duplicates first.
   */
  static async use<T>(ctx: ScenarioContext, fn: (env: ChaosEnv) => Promise<T>, opts: { sentinel?: boolean } = {}): Promise<T> {
    const env = await ChaosEnv.start(ctx, opts);
    try {
      const result = await fn(env);
      await env.countDuplicateTransitions();
      return result;
    } finally {
      await env.close();
    }
  }

  static async start(ctx: ScenarioContext, opts: { sentinel?: boolean } = {}): Promise<ChaosEnv> {
    const env = new ChaosEnv(ctx, 0);
    if (opts.sentinel) {
      env.topology = await startSentinelTopology({ master: 'chaos' });
      env.conn = new Redis({ ...redisOptions(env.topology.target), maxRetriesPerRequest: 1 });
      env.conn.on('error', () => undefined); // down on purpose during failovers
      env.conn.on('close', () => { env.connLosses++; });
      return env;
    }
    env.redis = await startEmbeddedRedis({ dir: join(env.dir, 'redis'), appendonly: true });
    env.redisPort = env.redis.port;
    env.conn = new Redis(env.redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200, lazyConnect: false });
    env.conn.on('error', () => undefined); // down on purpose during redis kills
    return env;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  /** Environment of ferry processes on this env's Redis and keys. */
  get ferryEnv(): Record<string, string> {
    const t = this.topology?.target;
    if (t) return { REDIS_SENTINELS: t.sentinels!.map((a) => `${a.host}:${a.port}`).join(','), REDIS_SENTINEL_MASTER: t.master! };
    return { REDIS_URL: this.redisUrl };
  }

  /** `ferry <args>` to its end, on this env's Redis. */
  ferry(args: string[], timeoutMs = 120_000) {
    return this.procs.run(args[0], ['--key-prefix', this.prefix, ...args], { env: this.ferryEnv, timeoutMs });
  }

  async startWorker(name: string, extra: string[] = [], env: Record<string, string> = {}): Promise<FerryProcess> {
    const w = this.procs.spawn(name, ['--key-prefix', this.prefix, 'worker', ...WORKER_FLAGS, ...extra], { ...this.ferryEnv, ...env });
    await w.waitFor('worker running', 120_000);
    return w;
  }

  /** Two workers and a `ferry serve` (no metrics; `serveArgs` added), each ready: the cast of the Redis fault scenarios. */
  async startWorkersAndServe(serveArgs: string[] = []): Promise<void> {
    await this.startWorker('worker-a');
    await this.startWorker('worker-b');
    const serve = this.procs.spawn('serve', ['--key-prefix', this.prefix, 'serve', '--no-metrics', ...WORKER_FLAGS, ...serveArgs], this.ferryEnv);
    await serve.waitFor('serving', 120_000);
  }

  /** SIGKILL redis-server (AOF everysec: up to a second of writes may be lost, as in a real crash). */
  killRedis(): void {
    process.kill(this.redis.pid, 'SIGKILL');
  }

  /** Starts redis-server again on the same port and data directory (it replays the AOF). */
  async restartRedis(): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        this.redis = await startEmbeddedRedis({ dir: join(this.dir, 'redis'), port: this.redisPort, appendonly: true });
        return;
      } catch (err) {
        if (i >= 20) throw err;
        await sleep(250); // the port may take a moment to be free again
      }
    }
  }

  /** Creates a job through the CLI. */
  async createJob(name: string, sender: string, receiver: string, extra: string[] = []): Promise<void> {
    const r = await this.ferry(['job', 'create', name, '--sender', sender, '--receiver', receiver, '--initial', 'all',
      '--retry-initial-ms', '500', '--retry-max-ms', '3000', '--max-attempts', '30', '--replace', '--json', ...extra]);
    if (r.code !== 0) throw new Error(`ferry job create failed (${r.code}): ${r.stderr}`);
  }

  /**
   * Invokes a job through the CLI; the run id. When ferry answers that the job's previous run is
   * still running although this reader saw it end, that end was taken back by Redis (a failover, a
   * restart that lost the AOF's last second): counted with the Sentinel topology, where the commit
   * guarantee promises it cannot happen (docs/ha.md); the run is waited for and the job invoked again.
   */
  async runJob(name: string): Promise<string> {
    for (let i = 0; ; i++) {
      const r = await this.ferry(['job', 'run', name, '--json'], 60_000);
      if (r.code === 0) {
        const { runId, started } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { runId: string; started: boolean };
        if (started) return runId;
        const seen = this.finals.get(runId);
        if (seen !== undefined) {
          this.finals.delete(runId);
          if (this.topology) this.ctx.figures.add('transitionsTakenBack', 1, `run ${runId} was seen ending ${seen} (confirmed on a replica), then \`ferry job run ${name}\` found it still running`);
        }
        this.ctx.log(`job ${name}: run ${runId} still running${seen ? ` although seen ending ${seen}` : ''}: waiting for it`);
        await this.waitFinal(runId);
        continue;
      }
      if (i >= 3) throw new Error(`ferry job run failed (${r.code}): ${r.stderr}`);
      await sleep(1000);
    }
  }

  /** Reads new transitions; remembers final states. Swallows a Redis that is down. */
  async poll(): Promise<void> {
    try {
      for (;;) {
        const start = this.lastId === '0' ? '-' : `(${this.lastId}`;
        const epoch = this.connLosses;
        const page = (await this.conn.xrange(`${this.prefix}:transitions`, start, '+', 'COUNT', 1000)) as Array<[string, string[]]>;
        // with replicas, trust only what a replica holds (a failover may take back the rest), and
        // only when the page and the WAIT came from one server (no reconnection between): as ferry's own followers do
        if (this.topology && page.length && (!(await this.replicated()) || this.connLosses !== epoch)) return;
        for (const [id, fields] of page) {
          this.lastId = id;
          const e = JSON.parse(fields[1]) as TransitionEvent;
          if (e.status !== 'active') this.finals.set(e.machineId, e.to);
        }
        if (page.length < 1000) return;
      }
    } catch {
      // redis down: try again on the next poll
    }
  }

  /** whether what this env's connection read so far is on a replica: a fence write, then WAIT (docs/ha.md) */
  private async replicated(): Promise<boolean> {
    // as ferry's own followers confirm: a fence write, WAIT 1, and the sentinels still naming the server that answered
    this.confirmer ??= new ReplicaWait(this.conn, `${this.prefix}:chaos-fence`, null, pino({ level: 'silent' }), { minReplicas: 1, timeoutMs: 2000 });
    try {
      await this.confirmer.confirm({ fence: true });
      return true;
    } catch (err) {
      if (isReplicaWaitTimeout(err)) return false;
      throw err;
    }
  }


  /** the id of the newest transition confirmed on a replica, after a poll */
  get lastTransitionId(): string {
    return this.lastId;
  }

  finalState(machineId: string): string | undefined {
    return this.finals.get(machineId);
  }

  /** The run's final state, or null when it has none within `timeoutMs`. */
  async waitFinal(runId: string, timeoutMs = SETTLE_MS): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      const s = this.finals.get(runId);
      if (s) return s;
      if (Date.now() > deadline) return null;
      await sleep(250);
    }
  }

  /** The whole transition log as Redis holds it now: (machine id, version) pairs seen more than once. */
  async countDuplicateTransitions(): Promise<void> {
    const seen = new Map<string, string>();
    let start = '-';
    for (;;) {
      const page = (await this.conn.xrange(`${this.prefix}:transitions`, start, '+', 'COUNT', 1000)) as Array<[string, string[]]>;
      for (const [id, fields] of page) {
        const e = JSON.parse(fields[1]) as TransitionEvent;
        const key = `${e.machineId}#${e.version}`;
        const before = seen.get(key);
        if (before !== undefined) this.ctx.figures.add('duplicateTransitions', 1, `${e.machineId} version ${e.version} logged twice (${before} and ${id}: ${e.from} -> ${e.to} on ${e.event})`);
        else seen.set(key, id);
      }
      if (page.length < 1000) return;
      start = `(${page.at(-1)![0]}`;
    }
  }

  /** `ferry status RUN --json` (the run as an operator sees it), or null when it cannot be read. */
  async status(runId: string): Promise<{ state: string; problem: string | null; replications: Array<{ state: string; problem: string | null; filesystems: Array<{ name: string; state: string; problem: string | null }> }> } | null> {
    const r = await this.ferry(['status', runId, '--json'], 60_000);
    if (r.code !== 0) return null;
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  }

  /**
   * Counts a finished (or lost) run: a Completed run has each filesystem's receiver compared with
   * the sender snapshot by `compare` (null = equal, else what differs).
   */
  async account(runId: string, state: string | null, what: string, filesystems: string[], compare: (fs: string) => Promise<string | null>): Promise<void> {
    const f = this.ctx.figures;
    if (state === null) {
      const st = await this.status(runId);
      f.add('runsLostOrStuck', 1, `${what}: run ${runId} not final ${SETTLE_MS / 1000} s after the faults stopped: ${JSON.stringify(st)}`);
      return;
    }
    if (state !== 'Completed') {
      const st = await this.status(runId);
      f.add('runsFailed', 1, `${what}: run ${runId} ended ${state}: ${JSON.stringify(st?.replications?.map((r) => r.filesystems) ?? st)}`);
      return;
    }
    f.add('runsCompleted');
    for (const fs of filesystems) {
      f.add('treesCompared');
      const problem = await compare(fs);
      if (problem) f.add('completedButDifferent', 1, `${what}: run ${runId} Completed but ${fs}: ${problem}`);
    }
  }

  async close(): Promise<void> {
    ChaosEnv.open.delete(this);
    await this.procs.stopAll();
    this.confirmer?.close();
    this.conn.disconnect();
    await this.redis?.stop().catch(() => undefined);
    await this.topology?.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** compare() for dir endpoints: the sender's snapshot `snap` against the receiver's visible tree */
export function dirCompare(sender: string, receiver: string, snap: string): (fs: string) => Promise<string | null> {
  return (fs) => compareReceived(join(sender, '.ferry', 'snapshots', fs, snap, 'data'), join(receiver, fs));
}

/** null when the receiver shows exactly the sender snapshot's tree, else what differs. */
export async function compareReceived(senderData: string, receiverVisible: string): Promise<string | null> {
  let want;
  try {
    want = await digestTree(senderData);
  } catch (err) {
    return `sender snapshot unreadable: ${(err as Error).message}`;
  }
  let got;
  try {
    got = await digestTree(receiverVisible);
  } catch (err) {
    return `receiver tree not visible: ${(err as Error).message}`;
  }
  const d = diffDigests(want, got);
  return d.length ? d.join('; ') : null;
}
