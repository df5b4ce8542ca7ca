import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/cli/embedded-redis.js';

/** A real redis-server on a free loopback port, in a temp dir removed on stop. */
export async function startTestRedis(opts: { appendonly?: boolean } = {}): Promise<EmbeddedRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-redis-'));
  const redis = await startEmbeddedRedis({ dir, appendonly: opts.appendonly ?? false });
  const stop = redis.stop.bind(redis);
  return {
    ...redis,
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
