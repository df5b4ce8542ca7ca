import type { Redis } from 'ioredis';
import { Engine, openRedis, type EngineOptions } from '../../src/engine/index.js';

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

/** A TestEngine on a new connection to `url`. */
export function openTestEngine(url: string, opts: Omit<EngineOptions, 'redis'>): TestEngine {
  return new TestEngine(openRedis(url), opts);
}
