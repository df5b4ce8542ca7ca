import type { Command } from 'commander';
import { readTokenFile } from '../api/auth.js';
import { RemoteOrchestrator } from '../api/orchestrator-client.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Orchestrator } from '../service/views.js';
import { openApp, type GlobalOptions } from './app.js';

export interface ServerOptions {
  server?: string;
  tokenFile?: string;
}

/** `--server` and `--token-file`, for every command that can talk to `ferry serve`. */
export function addServerOptions(cmd: Command): Command {
  return cmd
    .option('--server <addr>', 'talk to `ferry serve --grpc` at HOST:PORT instead of to Redis directly')
    .option('--token-file <file>', 'with --server: file holding the server\'s token (default: $FERRY_TOKEN_FILE)');
}

/** HOST:PORT from `HOST:PORT` or `grpc://HOST:PORT`. */
export function serverAddress(text: string): string {
  const m = /^(?:grpc:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(text.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new InvalidArgumentError(`--server ${JSON.stringify(text)}: use HOST:PORT (e.g. 127.0.0.1:50051)`, { code: 'INVALID_ARGUMENT' });
  }
  return `${m[1]}:${m[2]}`;
}

/**
 * Runs `fn` against the orchestrator: over gRPC with --server, else over Redis (REDIS_URL or the
 * embedded one) in this process. Both answer the same views, so commands print them one way.
 */
export async function withOrchestrator(g: GlobalOptions, o: ServerOptions, fn: (api: Orchestrator) => Promise<number>): Promise<number> {
  if (o.server) {
    const file = o.tokenFile ?? process.env.FERRY_TOKEN_FILE;
    if (!file) throw new InvalidArgumentError('--server needs the server\'s token: --token-file FILE or FERRY_TOKEN_FILE', { code: 'TOKEN_MISSING' });
    const api = new RemoteOrchestrator({ address: serverAddress(o.server), token: readTokenFile(file, o.tokenFile ? '--token-file' : 'FERRY_TOKEN_FILE') });
    try {
      return await fn(api);
    } finally {
      await api.close();
    }
  }
  const app = await openApp(g, { workers: false, graceful: true });
  try {
    return await fn(app.orchestrator);
  } finally {
    await app.close();
  }
}
