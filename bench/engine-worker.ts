/**
 * A worker process of the engine benchmark (bench/engine.bench.ts, two processes against one):
 *   node --import tsx bench/engine-worker.ts <redisUrl> <prefix> <drainConcurrency> <transitionLogMaxLen>
 * Prints "ready" once its workers run; SIGTERM closes it.
 */
import { Engine, openRedis } from '../src/engine/index.js';
import { createLogger } from '../src/util/logger.js';
import { benchRegistry } from './engine.bench.js';

const [redisUrl, prefix, drainConcurrency, logMaxLen] = process.argv.slice(2);
const log = createLogger({ level: 'warn', pretty: false });
const redis = openRedis(redisUrl, log);
const engine = new Engine({ redis, prefix, registry: benchRegistry, logger: log, transitionLogMaxLen: Number(logMaxLen) });
engine.startWorkers({ drainConcurrency: Number(drainConcurrency) });
process.on('SIGTERM', () => { engine.close().then(() => { redis.disconnect(); process.exit(0); }, () => process.exit(1)); });
process.stdout.write('ready\n');
