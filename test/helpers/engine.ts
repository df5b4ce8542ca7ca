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

  /**
   * Until no drain job waits or runs and no effect job runs. A machine's record shows a commit as
   * soon as Redis has it, before the worker that made it has read the reply, reported it (trace,
   * metrics) and dispatched its jobs: tests that count those wait for this first.
   */
  async settled(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { drain, effects } = await this.queueCounts();
      if (drain.wait + drain.active + effects.active === 0) return;
      if (Date.now() > deadline) throw new Error(`drain or effect jobs still queued or running after ${timeoutMs} ms: drain ${JSON.stringify(drain)}, effects ${JSON.stringify(effects)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
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
