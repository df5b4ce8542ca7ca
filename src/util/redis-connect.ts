import { Redis } from './ioredis.js';
import { TemporaryError } from '../errors/index.js';
import { redisStatusOf } from './redis.js';
import { describeTarget, type RedisTarget, type SentinelAddress } from './redis-target.js';

/**
 * What the sentinels say of `master`, each asked once with a short timeout: the reason no primary
 * can be found, as one line, or null when one of them names a primary.
 */
export async function sentinelProblem(target: RedisTarget, timeoutMs = 2000): Promise<string | null> {
  const answers = await Promise.all((target.sentinels ?? []).map((a) => askSentinel(a, target, timeoutMs)));
  if (answers.some((a) => a.kind === 'primary')) return null;
  const list = (target.sentinels ?? []).map((a) => `${a.host}:${a.port}`).join(',');
  if (answers.some((a) => a.kind === 'unknown')) return `the sentinels at ${list} know no master named "${target.master}" (REDIS_SENTINEL_MASTER; see "sentinel masters" on a sentinel)`;
  const last = answers.map((a) => a.error).filter(Boolean).pop();
  return `no sentinel answered at ${list}${last ? ` (${last})` : ''}`;
}

type SentinelAnswer = { kind: 'primary' | 'unknown' | 'unreachable'; error?: string };

async function askSentinel(a: SentinelAddress, target: RedisTarget, timeoutMs: number): Promise<SentinelAnswer> {
  const conn = new Redis({
    host: a.host, port: a.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, commandTimeout: timeoutMs,
    ...(target.sentinelUsername ? { username: target.sentinelUsername } : {}),
    ...(target.sentinelPassword ? { password: target.sentinelPassword } : {}),
    ...(target.tls ? { tls: {} } : {}),
  });
  // connect() itself only says "Connection is closed": the cause comes as an error event
  let cause: string | undefined;
  conn.on('error', (err: Error) => { cause ??= err.message; });
  try {
    await conn.connect();
    const addr = (await conn.call('SENTINEL', 'get-master-addr-by-name', target.master!)) as string[] | null;
    return addr ? { kind: 'primary' } : { kind: 'unknown' };
  } catch (err) {
    return { kind: 'unreachable', error: cause ?? (err as Error).message };
  } finally {
    conn.disconnect();
  }
}

/**
 * Waits up to `timeoutMs` for `conn` to reach a primary; otherwise a TemporaryError
 * (`REDIS_UNAVAILABLE`) with one line that says why: no sentinel answered, an unknown master name,
 * or the last connection error. For commands that must not wait forever (the CLI's one-shot ones).
 */
export async function waitForPrimary(conn: Redis, target: RedisTarget, timeoutMs: number): Promise<void> {
  if (conn.status === 'ready') return;
  const ready = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { conn.off('ready', onReady); resolve(false); }, timeoutMs);
    const onReady = () => { clearTimeout(timer); resolve(true); };
    conn.once('ready', onReady);
  });
  if (await ready) return;
  throw redisUnavailable(target, timeoutMs, target.sentinels ? await sentinelProblem(target) : null, redisStatusOf(conn).reason);
}

/** The one-line error of a Redis that stayed unreachable for `waitedMs`. */
export function redisUnavailable(target: RedisTarget, waitedMs: number, why: string | null, lastError: string): TemporaryError {
  const reason = why ?? (lastError || 'no answer');
  return new TemporaryError(`Redis unavailable (${describeTarget(target)}) after ${Math.round(waitedMs / 1000)} s: ${reason}`, { code: 'REDIS_UNAVAILABLE' });
}
