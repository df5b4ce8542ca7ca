import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { Redis } from './ioredis.js';
import type { Logger } from 'pino';
import { RedisStatus } from './redis-status.js';
import type { RedisTarget } from './redis-target.js';

/** the status every connection opened or duplicated here reports to */
const statuses = new WeakMap<Redis, RedisStatus>();

/** This process as Redis (CLIENT LIST) and BullMQ (worker names) show it: `ferry@host:pid`. */
export function processIdentity(): string {
  return `ferry@${hostname()}:${process.pid}`;
}

/** This process's name on its connections (CLIENT SETNAME allows no spaces). */
function connectionName(): string {
  return processIdentity().replace(/[^A-Za-z0-9_.@:-]/g, '_');
}

/** Pure: whether a failed command should make the connection reconnect (and resend it): the server it is on is no primary. */
export function reconnectsOn(err: Error): 2 | false {
  // a primary turned replica (READONLY), or one that lost its replicas' link (MASTERDOWN): the sentinels know the new one
  return /READONLY|MASTERDOWN/.test(err.message) ? 2 : false;
}

/** Pure: the ioredis options ferry connects with (see openRedis). */
export function redisOptions(target: RedisTarget): RedisOptions {
  const common: RedisOptions = {
    maxRetriesPerRequest: null,
    connectionName: connectionName(),
    // a reconnection every 0.2 s, backing off to 2 s: a failover takes seconds
    retryStrategy: (times) => Math.min(times * 200, 2000),
    reconnectOnError: reconnectsOn,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
  };
  if (!target.sentinels) return common;
  return {
    ...common,
    sentinels: target.sentinels,
    name: target.master,
    role: 'master',
    // all sentinels unreachable: ask them again after 0.5 s, backing off to 5 s (ioredis' default: every 10 ms to 1 s)
    sentinelRetryStrategy: (times) => Math.min(times * 500, 5000),
    // off: in ioredis 5.9.2 its subscription leaves an unhandled "Connection is closed." rejection when a
    // connection closes while it subscribes (seen in test/redis-ha.test.ts). Failovers are followed
    // without it: a dead primary drops the connection, a demoted one answers READONLY (reconnectOnError)
    failoverDetector: false,
    ...(target.sentinelUsername ? { sentinelUsername: target.sentinelUsername } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
  };
}

/**
 * Opens a connection of the process's kind: a URL (`redis://`, `rediss://`) or a Sentinel master
 * group, with `maxRetriesPerRequest: null` as the engine requires (a command waits for the
 * reconnection instead of failing after 20 tries; BullMQ blocks on duplicates of it), reconnection
 * with backoff, and a reconnect on READONLY (a demoted primary). Its life is reported to `status`
 * (one is made with `log` if not given): one log line when Redis becomes unavailable, one when it is
 * back. The process opens one and shares it (engine, queues, stores); duplicate it with
 * `duplicateRedis`, so the duplicate reports to the same status. The caller closes it (`disconnect()`).
 */
export function openRedis(target: string | RedisTarget, log?: Logger, status: RedisStatus = new RedisStatus(log)): Redis {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const options = redisOptions(t);
  const redis = t.sentinels ? new Redis(options) : new Redis(t.url!, options);
  statuses.set(redis, status);
  return status.watch(redis);
}

/** The status a connection from openRedis or duplicateRedis reports to; for any other, a silent one that starts watching it. */
export function redisStatusOf(conn: Redis): RedisStatus {
  let s = statuses.get(conn);
  if (s) return s;
  statuses.set(conn, (s = new RedisStatus()));
  s.watch(conn);
  if (conn.status === 'ready') s.ready();
  return s;
}

/** A new connection to the same Redis (same target and options), reporting to the same status. */
export function duplicateRedis(conn: Redis, overrides: Partial<RedisOptions> = {}, what = 'duplicate'): Redis {
  const status = redisStatusOf(conn);
  const dup = conn.duplicate(overrides);
  statuses.set(dup, status);
  return status.watch(dup, what);
}

/** The `limit` members of a sorted set with the highest scores, highest first, each with its score. */
export async function topScored(redis: Redis, key: string, limit: number): Promise<Array<[member: string, score: number]>> {
  const flat = await redis.zrevrange(key, 0, limit - 1, 'WITHSCORES');
  const out: Array<[string, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], Number(flat[i + 1])]);
  return out;
}

/** Pure: `host:port` with an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as IPv4 and IPv6 bracketed, for comparing addresses. */
export function normalAddress(host: string, port: number | string): string {
  const h = host.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return `${h.includes(':') ? `[${h}]` : h}:${Number(port)}`;
}

/** The address of the server a connection is on now (its socket's peer), normalised; null when not connected. */
export function serverAddressOf(conn: Redis): string | null {
  const s = conn.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return s?.remoteAddress && s.remotePort ? normalAddress(s.remoteAddress, s.remotePort) : null;
}

/** The sentinels of a Sentinel-managed connection (from openRedis or duplicateRedis); none for a plain one. */
export function sentinelsOf(conn: Redis): Array<{ host: string; port: number }> {
  const list = (conn.options.sentinels ?? []) as Array<{ host?: string; port?: number }>;
  return conn.options.name ? list.map((s) => ({ host: s.host ?? '127.0.0.1', port: s.port ?? 26379 })) : [];
}

/**
 * A small connection to one sentinel of `conn`'s group, with its credentials and TLS, for SENTINEL
 * commands: no reconnection and no queue (the caller moves on to another sentinel when it fails),
 * and an error listener (a sentinel down is the caller's answer, not an unhandled error).
 */
export function openSentinel(conn: Redis, sentinel: { host: string; port: number }, timeoutMs: number): Redis {
  const o = conn.options;
  const r = new Redis({
    host: sentinel.host, port: sentinel.port, lazyConnect: true, enableOfflineQueue: true,
    maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, commandTimeout: timeoutMs,
    connectionName: connectionName(),
    ...(o.sentinelUsername ? { username: o.sentinelUsername } : {}),
    ...(o.sentinelPassword ? { password: o.sentinelPassword } : {}),
    ...(o.enableTLSForSentinelMode && o.sentinelTLS ? { tls: o.sentinelTLS } : {}),
  });
  r.on('error', () => undefined);
  return r;
}
