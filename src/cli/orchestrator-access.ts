import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors/index.js';
import type { Orchestrator, RunReads } from '../service/views.js';
import type { GlobalOptions } from './app.js';

export interface ServerOptions {
  server?: string;
  tokenFile?: string;
}

/** `--server` and `--token-file`, for every command that can talk to `ferry serve`. */
export function addServerOptions(cmd: Command): Command {
  return cmd
    .option('--server <addr>', 'talk to `ferry serve --grpc` at HOST:PORT (grpcs://HOST:PORT for TLS) instead of to Redis directly')
    .option('--token-file <file>', 'with --server: file holding the server\'s token (default: $FERRY_TOKEN_FILE)');
}

/** The server to call: `HOST:PORT` or `grpc://HOST:PORT` (plaintext), `grpcs://HOST:PORT` (TLS). */
export function serverAddress(text: string): { address: string; tls: boolean } {
  const m = /^(?:(grpcs?):\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(text.trim());
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) {
    throw new InvalidArgumentError(`--server ${JSON.stringify(text)}: use HOST:PORT (e.g. 127.0.0.1:50051), or grpcs://HOST:PORT for TLS`, { code: 'INVALID_ARGUMENT' });
  }
  return { address: `${m[2]}:${m[3]}`, tls: m[1] === 'grpcs' };
}

/**
 * Runs `fn` against the orchestrator: over gRPC with --server, else over Redis (REDIS_URL or the
 * embedded one) in this process. Both answer the same views, so commands print them one way.
 * `local.workers`: over Redis, this process also works on the queues (as `ferry replicate` does), so
 * a command that waits for a run sees it end without a `ferry serve` or `ferry worker` running.
 */
export async function withOrchestrator(g: GlobalOptions, o: ServerOptions, fn: (api: Orchestrator) => Promise<number>, local: { workers?: boolean } = {}): Promise<number> {
  if (o.server) {
    const file = o.tokenFile ?? process.env.FERRY_TOKEN_FILE;
    if (!file) throw new InvalidArgumentError('--server needs the server\'s token: --token-file FILE or FERRY_TOKEN_FILE', { code: 'TOKEN_MISSING' });
    const { address, tls } = serverAddress(o.server);
    // loaded only here: a command over Redis needs no gRPC, one over gRPC no Redis or BullMQ
    const [{ readTokenFile }, { RemoteOrchestrator }, { channelCredentials, clientTlsFromEnv }] = await Promise.all([
      import('../grpc/auth.js'), import('../api/orchestrator-client.js'), import('../grpc/tls.js'),
    ]);
    // TLS files as for grpcs:// endpoints: FERRY_TLS_CA_FILE, and FERRY_TLS_CERT_FILE/FERRY_TLS_KEY_FILE for mutual TLS
    const credentials = channelCredentials({ tls, ...(tls ? clientTlsFromEnv() : {}) });
    const api = new RemoteOrchestrator({ address, tls, credentials, token: readTokenFile(file, o.tokenFile ? '--token-file' : 'FERRY_TOKEN_FILE') });
    try {
      return await fn(api);
    } finally {
      await api.close();
    }
  }
  const { openApp } = await import('./app.js');
  const app = await openApp(g, { workers: !!local.workers, graceful: true });
  try {
    return await fn(app.orchestrator);
  } finally {
    await app.close();
  }
}

/**
 * Runs `fn` against the orchestrator's reads of runs: with --server over gRPC as withOrchestrator
 * does; else over Redis with the records alone (read-app.ts), without the Engine, BullMQ or the
 * machines' registries, which a command that only reads would load for nothing.
 */
export async function withRunReads(g: GlobalOptions, o: ServerOptions, fn: (api: RunReads) => Promise<number>): Promise<number> {
  if (o.server) return withOrchestrator(g, o, fn);
  const { openReadApp } = await import('./read-app.js');
  const app = await openReadApp(g);
  try {
    return await fn(app.runs);
  } finally {
    await app.close();
  }
}

