import type { Command } from 'commander';

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

/** What to probe: the flags, else FERRY_HEALTH_GRPC (serve, agents), else Redis (workers). */
export function healthTarget(o: Pick<HealthFlags, 'grpc' | 'redis'>, env: NodeJS.ProcessEnv = process.env): { grpc: string } | { redis: string } {
  if (o.grpc) return { grpc: o.grpc };
  if (!o.redis && env.FERRY_HEALTH_GRPC) return { grpc: env.FERRY_HEALTH_GRPC };
  return { redis: env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
}

/** One PING on a connection of its own, which neither retries nor queues: down is down. */
async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  const { Redis } = await import('ioredis'); // loaded here: `ferry --help` loads no Redis client
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
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

/** Redacts a password in a Redis URL, for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

export function registerHealthCommand(program: Command, ctx: { positiveInt: (v: string) => number }): void {
  program.command('health')
    .description('probe a ferry process for a container health check: gRPC health of `serve --grpc` or an agent (--grpc, or FERRY_HEALTH_GRPC), else Redis PING (REDIS_URL) for workers; exit 0 healthy, 1 not')
    .option('--grpc <addr>', 'host:port (grpcs://host:port for TLS, with FERRY_TLS_* client files) whose grpc.health.v1 Check must answer SERVING')
    .option('--redis', 'PING the Redis of REDIS_URL even if FERRY_HEALTH_GRPC is set')
    .option('--timeout-ms <ms>', 'give up after this long', ctx.positiveInt, 3000)
    .action(async (o: HealthFlags) => {
      const target = healthTarget(o);
      try {
        if ('grpc' in target) await (await import('../../health/probe.js')).probeTarget(target.grpc, o.timeoutMs, '');
        else await pingRedis(target.redis, o.timeoutMs);
        process.stdout.write(`healthy: ${'grpc' in target ? `gRPC ${target.grpc} SERVING` : `Redis ${redactUrl(target.redis)} PONG`}\n`);
        process.exitCode = HEALTH_EXIT.healthy;
      } catch (err) {
        process.stderr.write(`unhealthy: ${'grpc' in target ? `gRPC ${target.grpc}` : `Redis ${redactUrl(target.redis)}`}: ${(err as Error).message}\n`);
        process.exitCode = HEALTH_EXIT.unhealthy;
      }
    });
}
