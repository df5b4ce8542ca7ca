import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { openRedis } from '../util/redis.js';
import { redisUnavailable, waitForPrimary } from '../util/redis-connect.js';
import { RedisStatus } from '../util/redis-status.js';
import { DEFAULT_REDIS_WAIT_MS, type RedisSettings } from '../util/redis-target.js';
import { acquireRedis } from './redis-runtime.js';

/** exit status of a command whose Redis stayed unreachable longer than --redis-wait-ms (the "anything else" status) */
export const EXIT_REDIS_UNAVAILABLE = 3;

export interface RedisConnection {
  /** the process's one connection (see openRedis in src/util/redis.ts) */
  conn: Redis;
  /** up or down: this process's view of Redis */
  status: RedisStatus;
  /** Stops watching, runs `closeUsers` (what works on the connection), then disconnects and stops an embedded server. */
  close(closeUsers?: () => Promise<void>): Promise<void>;
}

/**
 * Redis as the command's flags say (`g`: the GlobalOptions of app.ts; given, or an embedded redis-server), connected within
 * --redis-wait-ms. A one-shot command does not hang on a Redis that goes away later: it exits 3
 * after the same bound, unless `outlivesOutages` (serve and worker wait as long as it takes).
 * `log`: where outages are told (none: only the exit's message).
 */
export async function connectRedis(g: { redis?: RedisSettings; redisWaitMs?: number }, log: Logger | undefined, opts: { outlivesOutages?: boolean } = {}): Promise<RedisConnection> {
  const redis = await acquireRedis(g.redis);
  if (redis.note) process.stderr.write(`ferry: ${redis.note}\n`);
  const status = new RedisStatus(log);
  const conn = openRedis(redis.target, log, status);
  const waitMs = g.redisWaitMs ?? DEFAULT_REDIS_WAIT_MS;
  try {
    await waitForPrimary(conn, redis.target, waitMs);
  } catch (err) {
    conn.disconnect();
    await redis.release();
    throw err;
  }
  status.startProbe(conn);
  let outage: NodeJS.Timeout | null = null;
  const unwatch = opts.outlivesOutages ? () => true : status.onChange((up) => {
    if (outage) clearTimeout(outage);
    outage = up ? null : setTimeout(() => {
      process.stderr.write(`ferry: ${redisUnavailable(redis.target, waitMs, null, status.reason).message}\n`);
      process.exit(EXIT_REDIS_UNAVAILABLE);
    }, waitMs);
    outage?.unref();
  });
  const close = async (closeUsers?: () => Promise<void>) => {
    unwatch();
    if (outage) clearTimeout(outage);
    status.stopProbe();
    await closeUsers?.();
    conn.disconnect();
    await redis.release();
  };
  return { conn, status, close };
}
