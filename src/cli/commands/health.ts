import type { Command } from 'commander';
import { describeTarget, namesRedis, redisSettingsFromEnv, redisTargetFrom, type RedisTarget } from '../../util/redis-target.js';

/**
 * `ferry health`: a probe for container health checks (the Dockerfile's HEALTHCHECK, docs/deploy.md).
 * Exit 0 healthy, 1 not: Docker reserves 2, and reads any other non-zero status as unhealthy.
 */
export const HEALTH_EXIT = { healthy: 0, unhealthy: 1 } as const;

interface HealthFlags {
  grpc?: string;
  redis?: boolean;
  timeoutMs: number;
}

/** What to probe: the flags, else FERRY_HEALTH_GRPC (serve, agents), else Redis (workers) as the process finds it. */
export function healthTarget(o: Pick<HealthFlags, 'grpc' | 'redis'>, env: NodeJS.ProcessEnv = process.env): { grpc: string } | { redis: RedisTarget } {
  if (o.grpc) return { grpc: o.grpc };
  if (!o.redis && env.FERRY_HEALTH_GRPC) return { grpc: env.FERRY_HEALTH_GRPC };
  // the same settings as every other command: REDIS_URL, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER (docs/ha.md)
  const settings = redisSettingsFromEnv(env);
  return { redis: namesRedis(settings) ? redisTargetFrom(settings) : { url: 'redis://127.0.0.1:6379' } };
}

/** One PING on a connection of its own, which neither retries nor queues: down is down. Through Sentinel, the primary's. */
async function pingRedis(target: RedisTarget, timeoutMs: number): Promise<void> {
  // loaded here: `ferry --help` loads no Redis client
  const [{ Redis }, { redisOptions }] = await Promise.all([import('../../util/ioredis.js'), import('../../util/redis.js')]);
  const once = { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, sentinelRetryStrategy: () => null };
  const options = { ...redisOptions(target), ...once };
  const redis = target.sentinels ? new Redis(options) : new Redis(target.url!, options);
  redis.on('error', () => {});
  try {
    await redis.connect();
    const answer = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer to PING in ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    if (answer !== 'PONG') throw new Error(`PING answered ${JSON.stringify(answer)}`);
  } finally {
    redis.disconnect();
  }
}

export function registerHealthCommand(program: Command, ctx: { positiveInt: (v: string) => number }): void {
  program.command('health')
    .description('probe a ferry process for a container health check: gRPC health of `serve --grpc` or an agent (--grpc, or FERRY_HEALTH_GRPC), else Redis PING (REDIS_URL, or the primary through REDIS_SENTINELS) for workers; exit 0 healthy, 1 not')
    .option('--grpc <addr>', 'host:port (grpcs://host:port for TLS, with FERRY_TLS_* client files) whose grpc.health.v1 Check must answer SERVING')
    .option('--redis', 'PING Redis (REDIS_URL or REDIS_SENTINELS) even if FERRY_HEALTH_GRPC is set')
    .option('--timeout-ms <ms>', 'give up after this long', ctx.positiveInt, 3000)
    .action(async (o: HealthFlags) => {
      let what = 'Redis';
      try {
        const target = healthTarget(o);
        what = 'grpc' in target ? `gRPC ${target.grpc}` : `Redis ${describeTarget(target.redis)}`;
        if ('grpc' in target) await (await import('../../health/probe.js')).probeTarget(target.grpc, o.timeoutMs, '');
        else await pingRedis(target.redis, o.timeoutMs);
        process.stdout.write(`healthy: ${what} ${'grpc' in target ? 'SERVING' : 'PONG'}\n`);
        process.exitCode = HEALTH_EXIT.healthy;
      } catch (err) {
        process.stderr.write(`unhealthy: ${what}: ${(err as Error).message}\n`);
        process.exitCode = HEALTH_EXIT.unhealthy;
      }
    });
}
