import { readFileSync } from 'node:fs';
import { invalidField } from '../errors/index.js';

/** how long a one-shot command waits for an unreachable Redis before it fails (status 3); here, so the CLI's option defaults load no client */
export const DEFAULT_REDIS_WAIT_MS = 30_000;

/** A sentinel's address. */
export interface SentinelAddress { host: string; port: number }

/**
 * Where this process's Redis is: a URL (`redis://`, `rediss://` for TLS), or a Sentinel master group
 * (`sentinels` + `master`), which follows the primary through failovers. Credentials are values here,
 * read from files by `redisTargetFrom`: never from argv.
 */
export interface RedisTarget {
  /** redis:// or rediss:// URL of a single server (without Sentinel) */
  url?: string;
  /** Sentinel mode: the sentinels to ask for the primary of `master` */
  sentinels?: SentinelAddress[];
  /** Sentinel mode: the master group name the sentinels monitor */
  master?: string;
  /** ACL user and password of the Redis servers */
  username?: string;
  password?: string;
  /** ACL user and password of the sentinels (when they require their own) */
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** Sentinel mode: talk TLS to the servers and the sentinels */
  tls?: boolean;
}

/**
 * The settings a person gives, by the names of the environment (`REDIS_URL`, `REDIS_SENTINELS`, …);
 * CLI flags and the config file's `redis` section map onto the same names. Passwords only as files.
 */
export interface RedisSettings {
  REDIS_URL?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_MASTER?: string;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD_FILE?: string;
  REDIS_SENTINEL_USERNAME?: string;
  REDIS_SENTINEL_PASSWORD_FILE?: string;
  /** "1": TLS to the servers and sentinels in Sentinel mode (a URL says it with rediss://) */
  REDIS_TLS?: string;
}

export const REDIS_SETTING_NAMES = [
  'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER', 'REDIS_USERNAME', 'REDIS_PASSWORD_FILE',
  'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD_FILE', 'REDIS_TLS',
] as const;

/** The settings among `env` (process.env by default), blanks dropped. */
export function redisSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RedisSettings {
  const out: RedisSettings = {};
  for (const name of REDIS_SETTING_NAMES) if (env[name]?.trim()) out[name] = env[name]!.trim();
  return out;
}

/** Whether a Redis URL holds a password (`redis://user:pw@host`): refused where it would be seen (argv, a versioned file). */
export function urlCarriesPassword(url: string): boolean {
  return /^[a-z]+:\/\/[^@/]*:[^@/]+@/i.test(url);
}

/** the settings that mean something only in Sentinel mode */
const SENTINEL_ONLY: ReadonlyArray<keyof RedisSettings> = ['REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD_FILE', 'REDIS_TLS'];

/**
 * `upper` over `lower`, setting by setting (flags over the environment over the config file). An
 * upper layer that names where Redis is replaces the lower one's other way entirely: a URL drops
 * the lower layer's Sentinel settings, sentinels drop its URL.
 */
export function layerRedisSettings(lower: RedisSettings, upper: RedisSettings): RedisSettings {
  const out: RedisSettings = { ...lower };
  if (upper.REDIS_URL) for (const name of SENTINEL_ONLY) delete out[name];
  if (upper.REDIS_SENTINELS) delete out.REDIS_URL;
  for (const [name, value] of Object.entries(upper)) if (value !== undefined) out[name as keyof RedisSettings] = value;
  return out;
}

/** Whether the settings name any Redis at all (otherwise the CLI starts an embedded one). */
export function namesRedis(s: RedisSettings): boolean {
  return !!(s.REDIS_URL || s.REDIS_SENTINELS);
}

/** Pure: `host:port,host:port` as sentinel addresses; `field` names the setting in errors. */
export function parseSentinels(list: string, field = 'REDIS_SENTINELS'): SentinelAddress[] {
  const parts = list.split(',').map((p) => p.trim()).filter(Boolean);
  if (!parts.length) throw invalidField(field, 'expected host:port,host:port (at least one sentinel)');
  return parts.map((p) => {
    // [v6]:port, or host:port
    const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(p);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) throw invalidField(field, `expected host:port, got ${JSON.stringify(p)}`);
    return { host: m[1] ?? m[2], port };
  });
}

function readSecret(field: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidField(field, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // one line: a trailing newline is the editor's, not the password's
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw invalidField(field, `${file} is empty`);
  return secret;
}

/**
 * The target the settings describe, with password files read; a clear error naming the setting when
 * they are incomplete or contradict each other. Sentinel mode wins over nothing: giving both
 * REDIS_URL and REDIS_SENTINELS is an error.
 */
export function redisTargetFrom(s: RedisSettings): RedisTarget {
  if (s.REDIS_URL && s.REDIS_SENTINELS) throw invalidField('REDIS_SENTINELS', 'give either REDIS_URL or REDIS_SENTINELS with REDIS_SENTINEL_MASTER, not both');
  const target: RedisTarget = {};
  if (s.REDIS_USERNAME) target.username = s.REDIS_USERNAME;
  if (s.REDIS_PASSWORD_FILE) target.password = readSecret('REDIS_PASSWORD_FILE', s.REDIS_PASSWORD_FILE);
  if (s.REDIS_SENTINELS) {
    if (!s.REDIS_SENTINEL_MASTER) throw invalidField('REDIS_SENTINEL_MASTER', 'missing: the master group name the sentinels monitor (sentinel monitor NAME …)');
    target.sentinels = parseSentinels(s.REDIS_SENTINELS);
    target.master = s.REDIS_SENTINEL_MASTER;
    if (s.REDIS_SENTINEL_USERNAME) target.sentinelUsername = s.REDIS_SENTINEL_USERNAME;
    if (s.REDIS_SENTINEL_PASSWORD_FILE) target.sentinelPassword = readSecret('REDIS_SENTINEL_PASSWORD_FILE', s.REDIS_SENTINEL_PASSWORD_FILE);
    if (s.REDIS_TLS === '1' || s.REDIS_TLS === 'true') target.tls = true;
    return target;
  }
  for (const name of ['REDIS_SENTINEL_MASTER', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD_FILE'] as const) {
    if (s[name]) throw invalidField(name, 'only used with REDIS_SENTINELS');
  }
  if (!s.REDIS_URL) throw invalidField('REDIS_URL', 'missing: give REDIS_URL (redis:// or rediss://) or REDIS_SENTINELS');
  let url: URL;
  try {
    url = new URL(s.REDIS_URL);
  } catch {
    throw invalidField('REDIS_URL', `not a URL: expected redis://[user@]host:port[/db] or rediss://…`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalidField('REDIS_URL', `scheme ${url.protocol} not supported: expected redis:// or rediss://`);
  if (!url.hostname) throw invalidField('REDIS_URL', 'has no host');
  target.url = s.REDIS_URL;
  return target;
}

/** The target as one line for logs and errors, without credentials. */
export function describeTarget(t: RedisTarget): string {
  if (t.sentinels) return `master "${t.master}" of sentinels ${t.sentinels.map((a) => `${a.host}:${a.port}`).join(',')}`;
  const u = new URL(t.url!);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}
