import { isAbsolute } from 'node:path';
import { parseDuration } from '../util/duration.js';
import { parseSentinels, redisTargetFrom, urlCarriesPassword, type RedisSettings } from '../util/redis-target.js';
import type { ParsedConfig } from './parse.js';
import type { ConfigPath } from './problems.js';
import type { RedisConfig } from './schema.js';

/**
 * The file's `redis:` section, checked: the same settings as the REDIS_* variables (by their
 * names, so the three sources layer: flag > environment > file) and the commit wait's options.
 */
export interface ConfigRedis {
  settings: RedisSettings;
  minReplicas?: number | 'auto';
  replicaTimeoutMs?: number;
  waitMs?: number;
}

/** file key -> the variable it stands for (the check's messages name the file's keys) */
const KEY_OF_SETTING: Record<keyof RedisSettings, keyof RedisConfig> = {
  REDIS_URL: 'url', REDIS_SENTINELS: 'sentinels', REDIS_SENTINEL_MASTER: 'sentinel_master', REDIS_USERNAME: 'username',
  REDIS_PASSWORD_FILE: 'password_file', REDIS_SENTINEL_USERNAME: 'sentinel_username', REDIS_SENTINEL_PASSWORD_FILE: 'sentinel_password_file', REDIS_TLS: 'tls',
};

const SENTINEL_ONLY = ['sentinel_master', 'sentinel_username', 'sentinel_password_file', 'tls'] as const;

/**
 * Checks the section without reading the password files or reaching Redis (they may exist only
 * where `serve` runs); pushes a problem per wrong key. Null after any problem.
 */
export function checkRedisSection(p: ParsedConfig, r: RedisConfig): ConfigRedis | null {
  const at = (...rest: ConfigPath): ConfigPath => ['redis', ...rest];
  const before = p.problems.length;
  const problem = (key: string, message: string, atKey = false) => p.problems.push(p.problemAt(at(key), message, atKey));
  const sound = (key: keyof RedisConfig) => r[key] !== undefined && !p.hasProblemIn(at(key));
  const raw = r as Record<string, unknown>;
  for (const [key, file] of [['password', 'password_file'], ['sentinel_password', 'sentinel_password_file']]) {
    if (key in raw) problem(key, `a password is not taken inline (the file is reviewed and versioned): put it in a file readable only by ferry and give ${file}`, true);
  }
  const settings: RedisSettings = {};
  if (sound('url')) {
    if (urlCarriesPassword(r.url!)) problem('url', 'carries a password: give it in a file with password_file');
    else {
      try {
        redisTargetFrom({ REDIS_URL: r.url });
        settings.REDIS_URL = r.url;
      } catch (err) {
        problem('url', (err as Error).message.replace(/^REDIS_URL: /, ''));
      }
    }
  }
  if (sound('sentinels')) {
    const list = Array.isArray(r.sentinels) ? r.sentinels.join(',') : r.sentinels!;
    try {
      parseSentinels(list, 'sentinels');
      settings.REDIS_SENTINELS = list;
    } catch (err) {
      problem('sentinels', (err as Error).message.replace(/^sentinels: /, ''));
    }
  }
  if (r.url !== undefined && r.sentinels !== undefined) problem('sentinels', 'give either url or sentinels (with sentinel_master), not both');
  if (r.sentinels !== undefined && r.sentinel_master === undefined) problem('sentinels', 'sentinel_master is missing: the master group name the sentinels monitor (sentinel monitor NAME …)');
  if (r.sentinels === undefined) for (const key of SENTINEL_ONLY) if (r[key] !== undefined) problem(key, 'only used with sentinels');
  for (const key of ['password_file', 'sentinel_password_file'] as const) {
    if (sound(key) && !isAbsolute(r[key]!)) problem(key, `${JSON.stringify(r[key])}: give an absolute path`);
  }
  for (const [name, key] of Object.entries(KEY_OF_SETTING) as Array<[keyof RedisSettings, keyof RedisConfig]>) {
    if (name === 'REDIS_URL' || name === 'REDIS_SENTINELS' || !sound(key)) continue;
    settings[name] = name === 'REDIS_TLS' ? (r.tls ? '1' : undefined) : String(r[key]);
    if (settings[name] === undefined) delete settings[name];
  }
  const out: ConfigRedis = { settings };
  if (sound('min_replicas')) {
    const m = r.min_replicas!;
    if (m === 'auto' || typeof m === 'number') out.minReplicas = m;
    else problem('min_replicas', `${JSON.stringify(m)}: give a whole number ≥ 0 or "auto"`);
  }
  if (sound('replica_timeout')) out.replicaTimeoutMs = positiveDuration(r.replica_timeout!, () => problem('replica_timeout', 'must be at least 1ms'));
  if (sound('wait')) out.waitMs = positiveDuration(r.wait!, () => problem('wait', 'must be at least 1ms'));
  return p.problems.length > before ? null : out;
}

function positiveDuration(text: string, tooShort: () => void): number | undefined {
  const ms = parseDuration(text, '');
  if (ms >= 1) return ms;
  tooShort();
  return undefined;
}
