import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';

// BullMQ is a CommonJS package. An ES `import` of it makes Node lex every file its index re-exports
// (cjs-module-lexer, to find named exports): for BullMQ's 170 files about 0.5 s of a command's start
// on this machine kind, against about 0.15 s for `require`. So it is required here, once, and the
// rest of ferry imports its classes from this module (types stay `import type` from 'bullmq').
// test/cycle-start.test.ts keeps it so. ioredis likewise: ./ioredis.ts.
const bullmq = createRequire(import.meta.url)('bullmq') as typeof BullMQ;

export const Queue = bullmq.Queue;
export type Queue<D = any, R = any, N extends string = string> = BullMQ.Queue<D, R, N>;
export const Worker = bullmq.Worker;
export type Worker<D = any, R = any, N extends string = string> = BullMQ.Worker<D, R, N>;
