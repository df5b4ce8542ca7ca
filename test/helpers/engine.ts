import type { Redis } from 'ioredis';
import { Engine, openRedis, type EngineOptions } from '../../src/engine/index.js';
import type { RedisTarget } from '../../src/util/redis-target.js';

/**
 * An Engine whose close() also closes its connection: tests and benches start and stop engines as
 * processes would, each owning its connection (the engine itself never closes the one it is given).
 */
export class TestEngine extends Engine {
  constructor(readonly connection: Redis, opts: Omit<EngineOptions, 'redis'>) {
    super({ ...opts, redis: connection });
  }

  override async close(): Promise<void> {
    await super.close();
    this.connection.disconnect();
  }
}

/** A TestEngine on a new connection to `url` (or a Sentinel target), logging its outages to the engine's logger. */
export function openTestEngine(url: string | RedisTarget, opts: Omit<EngineOptions, 'redis'>): TestEngine {
  return new TestEngine(openRedis(url, opts.logger), opts);
}
