import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { ConnectionOptions } from 'bullmq';
import { Queue } from '../util/bullmq.js';
import express from 'express';
import type { Redis } from 'ioredis';

/** the engine's BullMQ queues (src/engine/queues.ts), by name; bull-board reads them */
const ENGINE_QUEUES = ['drain', 'effects', 'timers'] as const;

export const QUEUES_PATH = '/queues';

/**
 * bull-board over the engine's queues, mounted at /queues behind the live view's auth. Its own
 * Queue objects (on the app's connection, under the engine's prefix): the engine's stay private.
 */
export function mountBullBoard(redis: Redis, prefix: string): { handle(req: IncomingMessage, res: ServerResponse): void; close(): Promise<void> } {
  const connection = redis as unknown as ConnectionOptions;
  const queues = ENGINE_QUEUES.map((name) => new Queue(name, { connection, prefix }));
  for (const q of queues) q.on('error', () => undefined);
  const adapter = new ExpressAdapter();
  adapter.setBasePath(QUEUES_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'ferry queues' } } });
  const app = express();
  app.disable('x-powered-by');
  app.use(QUEUES_PATH, adapter.getRouter());
  return {
    handle: (req, res) => app(req as express.Request, res as express.Response),
    async close() {
      // the connection is the app's: close only the Queue objects' own state
      await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
    },
  };
}
