import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Opens the one connection a process shares between the engine, its queues and the stores (the
 * engine duplicates it for its workers). `maxRetriesPerRequest: null`, as the engine requires: a
 * command waits for the reconnection instead of failing after 20 tries, and BullMQ blocks on
 * duplicates of it. Connection errors are logged (at warn; dropped without a logger): ioredis
 * reconnects by itself. The caller closes it (`disconnect()`) after everything using it.
 */
export function openRedis(url: string, log?: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', (err: Error) => log?.warn({ err: err.message }, 'redis connection error'));
  return redis;
}

/** The `limit` members of a sorted set with the highest scores, highest first, each with its score. */
export async function topScored(redis: Redis, key: string, limit: number): Promise<Array<[member: string, score: number]>> {
  const flat = await redis.zrevrange(key, 0, limit - 1, 'WITHSCORES');
  const out: Array<[string, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], Number(flat[i + 1])]);
  return out;
}
