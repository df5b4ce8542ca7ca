import type { ConfigRedis } from '../config/redis-section.js';
import { invalidField } from '../errors/index.js';
import type { ReplicaWaitOptions } from '../engine/replica-wait.js';
import { layerRedisSettings, urlCarriesPassword, type RedisSettings } from '../util/redis-target.js';

/** The global flags about Redis, as commander reads them (those with a default always hold a value). */
export interface RedisFlags {
  redisUrl?: string; redisSentinels?: string; redisSentinelMaster?: string; redisUsername?: string; redisPasswordFile?: string;
  redisSentinelUsername?: string; redisSentinelPasswordFile?: string;
  redisWaitMs: number; minReplicas: number | 'auto'; replicaTimeoutMs: number;
}

/**
 * Where Redis is and how commits wait for it, from three sources (docs/ha.md): a flag given on the
 * command line wins over its environment variable, which wins over the config file's `redis:`
 * section, which wins over the default. A source that names where Redis is (a URL, or sentinels)
 * replaces the other way of the sources below it. `given`: whether a flag was on the command line.
 */
export function redisOptionsOf(flags: RedisFlags, given: (flag: keyof RedisFlags) => boolean, env: RedisSettings, file?: ConfigRedis | null): { redis: RedisSettings; redisWaitMs: number; replicas: ReplicaWaitOptions } {
  if (flags.redisUrl && urlCarriesPassword(flags.redisUrl)) throw invalidField('--redis-url', 'carries a password: argv is visible to every user of the host; use --redis-password-file or REDIS_PASSWORD_FILE');
  const fromFlags: RedisSettings = {
    REDIS_URL: flags.redisUrl, REDIS_SENTINELS: flags.redisSentinels, REDIS_SENTINEL_MASTER: flags.redisSentinelMaster, REDIS_USERNAME: flags.redisUsername,
    REDIS_PASSWORD_FILE: flags.redisPasswordFile, REDIS_SENTINEL_USERNAME: flags.redisSentinelUsername, REDIS_SENTINEL_PASSWORD_FILE: flags.redisSentinelPasswordFile,
  };
  // flags with a default: the file's value counts unless the flag was given (they have no variable)
  const pick = <K extends 'redisWaitMs' | 'minReplicas' | 'replicaTimeoutMs'>(flag: K, fromFile: RedisFlags[K] | undefined): RedisFlags[K] => (given(flag) || fromFile === undefined ? flags[flag] : fromFile);
  return {
    redis: layerRedisSettings(layerRedisSettings(file?.settings ?? {}, env), fromFlags),
    redisWaitMs: pick('redisWaitMs', file?.waitMs),
    replicas: { minReplicas: pick('minReplicas', file?.minReplicas), timeoutMs: pick('replicaTimeoutMs', file?.replicaTimeoutMs) },
  };
}
