import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';

// BullMQ and ioredis are CommonJS packages. An ES `import` of one makes Node lex every file its
// index re-exports (cjs-module-lexer, for named exports): for BullMQ's 170 files that cost about
// 0.5 s of a command's start on this machine kind, against about 0.15 s for `require`. So they are
// required here, once, and the rest of ferry imports their classes from this module (types stay
// `import type` from the packages). test/start-imports.test.ts keeps it so.
const require = createRequire(import.meta.url);
const bullmq = require('bullmq') as typeof BullMQ;
const ioredis = require('ioredis') as typeof IORedis;

export const Queue = bullmq.Queue;
export type Queue<D = any, R = any, N extends string = string> = BullMQ.Queue<D, R, N>;
export const Worker = bullmq.Worker;
export type Worker<D = any, R = any, N extends string = string> = BullMQ.Worker<D, R, N>;
export const Redis = ioredis.Redis;
export type Redis = IORedis.Redis;
