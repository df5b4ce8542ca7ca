import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REDIS_MISSING_HINT, findRedisServer, startEmbeddedRedis } from './embedded-redis.js';
import { PermanentError } from '../errors/index.js';
import { namesRedis, redisSettingsFromEnv, redisTargetFrom, type RedisSettings, type RedisTarget } from '../util/redis-target.js';

export interface RedisHandle {
  /** a URL or a Sentinel master group (src/util/redis-target.ts) */
  target: RedisTarget;
  /** what a person should know about where Redis came from */
  note: string | null;
  release(): Promise<void>;
}

/** The user's state directory for ferry (XDG_STATE_HOME or ~/.local/state). */
export function stateDir(): string {
  return process.env.FERRY_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'ferry');
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * The Redis the settings name (REDIS_URL, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER; flags and
 * the environment); otherwise an embedded redis-server with AOF under the state directory.
 * A second ferry command while one runs reuses that server instead of starting another on
 * the same data; only the command that started it stops it.
 */
export async function acquireRedis(settings: RedisSettings = redisSettingsFromEnv()): Promise<RedisHandle> {
  if (namesRedis(settings)) return { target: redisTargetFrom(settings), note: null, release: async () => {} };
  const dir = join(stateDir(), 'redis');
  const infoFile = join(dir, 'embedded.json');
  if (existsSync(infoFile)) {
    try {
      const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { pid: number; port: number };
      if (alive(info.pid) && (await reachable(info.port))) {
        return { target: { url: `redis://127.0.0.1:${info.port}` }, note: `using the embedded redis-server already running on 127.0.0.1:${info.port} (pid ${info.pid})`, release: async () => {} };
      }
    } catch { /* stale or unreadable: start a new one */ }
  }
  if (!findRedisServer()) throw new PermanentError(REDIS_MISSING_HINT, { code: 'REDIS_MISSING' });
  mkdirSync(dir, { recursive: true });
  const redis = await startEmbeddedRedis({ dir, appendonly: true });
  writeFileSync(infoFile, JSON.stringify({ pid: redis.pid, port: redis.port }));
  return {
    target: { url: redis.url },
    note: `REDIS_URL is not set: started an embedded redis-server on 127.0.0.1:${redis.port} (pid ${redis.pid}), data with AOF in ${dir}`,
    async release() {
      rmSync(infoFile, { force: true });
      await redis.stop();
    },
  };
}
