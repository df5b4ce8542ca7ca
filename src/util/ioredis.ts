import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';

// ioredis is a CommonJS package: `require` spares the ES loader's lexing of what its index
// re-exports (see ./bullmq.ts). Apart from BullMQ: a command that only reads Redis loads no queue.
const ioredis = createRequire(import.meta.url)('ioredis') as typeof IORedis;

export const Redis = ioredis.Redis;
export type Redis = IORedis.Redis;
