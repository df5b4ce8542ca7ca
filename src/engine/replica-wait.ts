import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { TemporaryError } from '../errors/index.js';
import { redisStatusOf, serverAddressOf } from '../util/redis.js';
import { SentinelView } from '../util/sentinel-view.js';
import type { EngineMetrics } from './metrics.js';

export interface ReplicaWaitOptions {
  /**
   * Replicas that must hold a commit before its effects start (Redis `WAIT`). "auto": 1 when the
   * primary has a replica connected (asked with INFO every few seconds), 0 when it is alone.
   * @defaultValue "auto"
   */
  minReplicas?: number | 'auto';
  /** how long one `WAIT` waits for them, in milliseconds. @defaultValue 1000 */
  timeoutMs?: number;
}

/** how long the "auto" answer (connected replicas) is trusted, in milliseconds */
const AUTO_REFRESH_MS = 5000;

/** the pause before the sentinels are asked again within one confirmation, in milliseconds */
const SENTINEL_RETRY_MS = 50;

/** what one shared WAIT found: the replicas that acknowledged, and why the answer is not trusted (null: trusted) */
interface WaitAnswer { acked: number; refusal: string | null }

/** Pure: `connected_slaves` of an INFO replication reply (0 when absent). */
export function connectedReplicas(info: string): number {
  const m = /^connected_slaves:(\d+)/m.exec(info);
  return m ? Number(m[1]) : 0;
}

/**
 * The engine's replication barrier: after a commit, `confirm()` returns once `minReplicas` replicas
 * hold it (Redis `WAIT` on the connection that committed), so a failover cannot take back a commit
 * whose effects have started, whose child machines exist or whose transitions a subscriber saw.
 * Concurrent commits share one `WAIT` (group commit: a WAIT covers every write its connection made
 * before it). A confirmation is refused (TemporaryError `REPLICA_WAIT_TIMEOUT`, counted in
 * `ferry_engine_commit_replica_timeouts_total`) when too few replicas acknowledged in time, and when
 * the connection reconnected between the commit and the answer (the answer may come from another
 * server), and, on a Sentinel-managed connection, unless a majority of the configured sentinels
 * answer in time, every one that answers names the server that acknowledged and none reports a
 * failover under way (an old primary resumed before its replicas were moved: they still
 * acknowledge, and the failover takes the commit back; one `SENTINEL MASTER` to every sentinel at
 * once per WAIT, shared like it); the drain job that committed then fails and is retried, and its
 * retry dispatches the outbox only after a confirmation of its own. See docs/ha.md.
 */
export class ReplicaWait {
  private readonly minReplicas: number | 'auto';
  private readonly timeoutMs: number;
  private auto: { replicas: number; at: number } | null = null;
  private refreshing: Promise<void> | null = null;
  private inFlight: Promise<WaitAnswer> | null = null;
  private queued: Promise<WaitAnswer> | null = null;
  private failing = false;
  /** undefined: not asked yet (opened on the first check); null: not Sentinel-managed */
  private sentinels: SentinelView | null | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly fenceKey: string,
    /** null: timeouts not counted (a follower's confirmation is no commit's) */
    private readonly metrics: EngineMetrics | null,
    private readonly log: Logger,
    opts: ReplicaWaitOptions = {},
  ) {
    this.minReplicas = opts.minReplicas ?? 'auto';
    this.timeoutMs = opts.timeoutMs ?? 1000;
    if (this.minReplicas !== 'auto' && !(Number.isInteger(this.minReplicas) && this.minReplicas >= 0)) throw new Error(`minReplicas: expected a whole number ≥ 0 or "auto", got ${String(opts.minReplicas)}`);
  }

  /**
   * Resolves once what this connection wrote so far is on enough replicas; null (no promise, so the
   * caller goes on in the same tick) when none are needed. `fence`: the write to confirm was another
   * process's (an outbox it left): first write a fence key, which replicates after it, and confirm that.
   */
  confirm(opts: { fence?: boolean } = {}): Promise<void> | null {
    const known = this.knownNeeded();
    if (known === 0) return null;
    return this.confirmAsync(opts.fence ?? false, known);
  }

  private async confirmAsync(fence: boolean, known: number | null): Promise<void> {
    const needed = known ?? (await this.needed(false));
    if (needed === 0) return;
    const status = redisStatusOf(this.redis);
    const epoch = status.epoch(this.redis);
    if (fence) await this.redis.incr(this.fenceKey);
    const { acked, refusal } = await this.waitShared(needed);
    if (status.epoch(this.redis) !== epoch) throw this.refused(`the connection to Redis was lost while waiting for replicas (a failover?): the commit may not have survived`);
    if (refusal) {
      this.metrics?.commitReplicaTimeouts.inc();
      throw this.refused(refusal);
    }
    if (acked >= needed) {
      if (this.failing) this.log.info({ acked, needed }, 'replicas acknowledge commits again');
      this.failing = false;
      return;
    }
    this.metrics?.commitReplicaTimeouts.inc();
    // "auto" follows the topology: a primary left without replicas commits alone
    if (this.minReplicas === 'auto' && (await this.needed(true)) === 0) return;
    throw this.refused(`${acked} of ${needed} replicas acknowledged within ${this.timeoutMs} ms`);
  }

  /** the replicas to wait for when known without asking Redis (null: ask); refreshes "auto" in the background when old */
  private knownNeeded(): number | null {
    if (this.minReplicas !== 'auto') return this.minReplicas;
    if (!this.auto) return null;
    if (Date.now() - this.auto.at > AUTO_REFRESH_MS) void this.refreshAuto().catch(() => undefined);
    return Math.min(1, this.auto.replicas);
  }

  private refused(message: string): TemporaryError {
    if (!this.failing) this.log.warn({ err: message }, 'writes not confirmed by replicas in time: what depends on them waits and is retried');
    this.failing = true;
    return new TemporaryError(message, { code: 'REPLICA_WAIT_TIMEOUT' });
  }

  /** one WAIT for every caller that arrives while another is in flight */
  private waitShared(needed: number): Promise<WaitAnswer> {
    if (!this.inFlight) return (this.inFlight = this.wait(needed).finally(() => { this.inFlight = null; }));
    // the WAIT in flight may have been sent before this caller's write: join the next one
    return (this.queued ??= this.inFlight.catch(() => null).then(() => {
      this.queued = null;
      return this.waitShared(needed);
    }));
  }

  private async wait(needed: number): Promise<WaitAnswer> {
    const acked = Number(await this.redis.call('WAIT', needed, this.timeoutMs));
    const server = serverAddressOf(this.redis);
    if (acked < needed) return { acked, refusal: null };
    return { acked, refusal: await this.primaryElsewhere(server) };
  }

  /**
   * Sentinel mode: why `server` (which answered WAIT) may not be the primary (null: a majority of
   * the configured sentinels answered, those at the newest config-epoch name it, none reports a
   * failover or it down). Asked again until `timeoutMs` has passed, as a WAIT waits: a sentinel a
   * moment behind the others, or a failover aborting, settles within it.
   */
  private async primaryElsewhere(server: string | null): Promise<string | null> {
    if (this.sentinels === undefined) this.sentinels = SentinelView.of(this.redis);
    if (!this.sentinels) return null;
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      // each ask gets the whole timeout (the sentinels' connections open with it): a slow last one may overrun the deadline once
      const refusal = await this.sentinels.refusal(server, this.timeoutMs);
      if (refusal === null || Date.now() + SENTINEL_RETRY_MS >= deadline) return refusal;
      await new Promise((r) => setTimeout(r, SENTINEL_RETRY_MS));
    }
  }

  /** Closes the connections to the sentinels, if any were opened (the Redis connection is its owner's). */
  close(): void {
    this.sentinels?.close();
  }

  /** the replicas to wait for, asking Redis (INFO) for "auto" when `refresh` or never asked */
  private async needed(refresh: boolean): Promise<number> {
    if (this.minReplicas !== 'auto') return this.minReplicas;
    if (refresh || !this.auto) await this.refreshAuto();
    return Math.min(1, this.auto?.replicas ?? 0);
  }

  private refreshAuto(): Promise<void> {
    return (this.refreshing ??= this.redis.info('replication').then((info) => {
      this.auto = { replicas: connectedReplicas(String(info)), at: Date.now() };
    }).finally(() => { this.refreshing = null; }));
  }
}

/** confirmations tried again after a REPLICA_WAIT_TIMEOUT before a caller gives up (each waits `timeoutMs`) */
const CONFIRM_ATTEMPTS = 5;

/** Whether `err` is a ReplicaWait's refusal (the write may not survive a failover). */
export function isReplicaWaitTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'REPLICA_WAIT_TIMEOUT';
}

/** Tries `confirm` until it succeeds, up to CONFIRM_ATTEMPTS times; then throws the last timeout. */
export async function confirmPatiently(first: unknown, confirm: () => Promise<unknown> | null): Promise<void> {
  let last = first;
  for (let i = 0; i < CONFIRM_ATTEMPTS; i++) {
    try {
      await confirm();
      return;
    } catch (err) {
      if (!isReplicaWaitTimeout(err)) throw err;
      last = err;
    }
  }
  throw last;
}

