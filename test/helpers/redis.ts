import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
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

/**
 * Counts the Redis requests a connection sends on its own and the commands it sends in pipelines
 * (each command of a pipeline counted in `pipelined`), until `stop`.
 */
export function countRequests(conn: Redis): { requests: () => number; pipelined: () => number; stop: () => void } {
  const c = conn as unknown as { sendCommand: (cmd: unknown, stream?: unknown) => unknown };
  const original = c.sendCommand;
  let requests = 0;
  let pipelined = 0;
  c.sendCommand = function (this: unknown, cmd: unknown, stream?: unknown) {
    if (stream) pipelined++;
    else requests++;
    return original.call(this, cmd, stream);
  };
  return { requests: () => requests, pipelined: () => pipelined, stop: () => { c.sendCommand = original; } };
}
