import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Messages of errors that mean "no usable primary right now", not a bug: they start or extend an outage. */
const OUTAGE_ERRORS = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|READONLY|MASTERDOWN|LOADING|NOREPLICAS|sentinels are unreachable|Stream isn't writeable|connect ETIMEDOUT|Socket closed/i;

/** Pure: whether an error from a Redis client is the outage kind (connection, failover), not a bug. */
export function isOutageError(err: unknown): boolean {
  return OUTAGE_ERRORS.test((err as Error)?.message ?? String(err));
}

/**
 * The process's view of its Redis: up or down, shared by every connection, queue, worker and
 * subscriber of the process. It turns their many error events into one "redis unavailable" line
 * when an outage starts and one "redis back" line when it ends (a failover makes hundreds of
 * errors, one per command and connection), and feeds `ferry_redis_up` and gRPC health.
 */
export class RedisStatus {
  /** false until the first connection is ready: a first connection that fails is the connect's error, not an outage */
  private everUp = false;
  private isUp = false;
  private downSince = 0;
  private lastError = '';
  /** bumped on every disconnection of a watched connection: a reply from a later epoch may come from another server */
  private epochs = new WeakMap<Redis, number>();
  private readonly listeners = new Set<(up: boolean) => void>();
  private probeTimer: NodeJS.Timeout | null = null;

  constructor(private readonly log?: Logger, private readonly now: () => number = Date.now) {}

  get up(): boolean {
    return this.isUp;
  }

  /** the message of the error that began the current (or last) outage */
  get reason(): string {
    return this.lastError;
  }

  /** Calls `fn` on every change (up → down, down → up); returns the unsubscribe. */
  onChange(fn: (up: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** how many times `conn` lost its connection (see `epoch` in the replica wait) */
  epoch(conn: Redis): number {
    return this.epochs.get(conn) ?? 0;
  }

  /** Follows a connection's life: a lost connection starts an outage, a ready one ends it; its errors go to `error`. */
  watch(conn: Redis, what = 'redis'): Redis {
    this.epochs.set(conn, 0);
    conn.on('error', (err: Error) => this.error(err, { connection: what }));
    conn.on('close', () => this.epochs.set(conn, (this.epochs.get(conn) ?? 0) + 1));
    // 'end' only after disconnect(): the owner closed it, no outage
    conn.on('reconnecting', () => this.down(this.lastError || 'connection lost'));
    conn.on('ready', () => this.ready());
    return conn;
  }

  /**
   * While down, asks `conn` every `everyMs` whether it reaches a primary (ROLE), and marks Redis back
   * when it does: the errors that began an outage may have come from connections this class does not
   * see come back (BullMQ's own duplicates). Stopped by `stopProbe`; the timer keeps no process alive.
   */
  startProbe(conn: Redis, everyMs = 1000): void {
    this.stopProbe();
    this.probeTimer = setInterval(() => {
      if (this.isUp || conn.status !== 'ready') return;
      conn.call('ROLE').then((role) => { if ((role as unknown[])[0] === 'master') this.ready(); }, () => undefined);
    }, everyMs);
    this.probeTimer.unref();
  }

  stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  /**
   * An error from anything that talks to Redis (a connection, a BullMQ queue or worker): the outage
   * kind marks Redis down (logged once, then at debug), any other is logged at warn.
   */
  error(err: Error, context: Record<string, unknown> = {}): void {
    if (isOutageError(err)) {
      this.down(err.message, context);
      this.log?.debug({ ...context, err: err.message }, 'redis error during outage');
    } else {
      this.log?.warn({ ...context, err: err.message }, 'redis error');
    }
  }

  /** a command answered: whatever the connections said, a primary is there */
  ready(): void {
    if (this.isUp) return;
    this.isUp = true;
    const first = !this.everUp;
    this.everUp = true;
    if (!first) this.log?.info({ downMs: this.now() - this.downSince, reason: this.lastError }, 'redis back');
    for (const fn of this.listeners) fn(true);
  }

  private down(reason: string, context: Record<string, unknown> = {}): void {
    this.lastError = reason;
    if (!this.isUp || !this.everUp) return;
    this.isUp = false;
    this.downSince = this.now();
    this.log?.warn({ ...context, err: reason }, 'redis unavailable: waiting for it (or for a failover) and reconnecting');
    for (const fn of this.listeners) fn(false);
  }
}
