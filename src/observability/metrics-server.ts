import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { InvalidArgumentError } from '../errors/index.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * `PORT`, `HOST:PORT` or `[IPV6]:PORT` as given to a flag such as `--metrics`; a bare port
 * listens on 127.0.0.1, so nothing is reachable from other machines unless a host says so.
 */
export function parseListenAddress(text: string, flag: string, opts: { allowPortZero?: boolean } = {}): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (port === 0 && !opts.allowPortZero)) {
    throw new InvalidArgumentError(`${flag} ${JSON.stringify(text)}: expected PORT, HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9464`, { code: 'INVALID_ARGUMENT' });
  }
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** host as it goes into a URL: IPv6 in brackets; a wildcard address becomes loopback (where a local client connects). */
export function urlHost(host: string, opts: { connectable?: boolean } = {}): string {
  if (opts.connectable && host === '0.0.0.0') return '127.0.0.1';
  if (opts.connectable && host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Listens; a busy or forbidden address becomes an InvalidArgumentError naming the flag. */
export function listenOn(server: Server, addr: ListenAddress, flag: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
      reject(new InvalidArgumentError(`${flag} ${urlHost(addr.host)}:${addr.port}: cannot listen: ${why}`, { code: err.code ?? 'LISTEN_FAILED', cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: addr.host, port: addr.port });
  });
}

/** Keeps a server's sockets so a close does not wait for idle keep-alive (or upgraded) connections. */
export function trackSockets(server: Server): { destroyAll(): void } {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return { destroyAll: () => { for (const s of sockets) s.destroy(); } };
}

/** Stops accepting, drops open connections, resolves once the server is closed. */
export function closeServer(server: Server, sockets: { destroyAll(): void }): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    sockets.destroyAll();
  });
}

export interface MetricsServer {
  /** base URL, e.g. http://127.0.0.1:9464 */
  url: string;
  address: AddressInfo;
  close(): Promise<void>;
}

/**
 * A plain node:http server: `GET /metrics` (the registry in the Prometheus text format,
 * collect callbacks run on each scrape) and `GET /healthz` (200 while the process serves);
 * anything else is 404.
 */
export async function startMetricsServer(opts: { address: ListenAddress; registry: Registry; log?: Logger; flag?: string }): Promise<MetricsServer> {
  const { registry, log } = opts;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') return reply(res, 404, 'not found: try /metrics or /healthz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    if (path === '/healthz') return reply(res, 200, 'ok\n', req.method === 'HEAD');
    try {
      const body = await registry.metrics();
      reply(res, 200, body, req.method === 'HEAD', registry.contentType);
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'metrics scrape failed');
      reply(res, 500, `metrics unavailable: ${(err as Error).message}\n`);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log?.warn({ err: (err as Error).message }, 'metrics request failed');
      if (!res.headersSent) reply(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  const sockets = trackSockets(server);
  const address = await listenOn(server, opts.address, opts.flag ?? '--metrics');
  server.on('error', (err) => log?.warn({ err: err.message }, 'metrics server error'));
  return {
    url: `http://${urlHost(address.address)}:${address.port}`,
    address,
    close: () => closeServer(server, sockets),
  };
}

function reply(res: ServerResponse, status: number, body: string, headOnly = false, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(headOnly ? undefined : body);
}
