import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import { PermanentError } from '../errors/index.js';

export interface EmbeddedRedisOptions {
  /** data directory (AOF and dump live here); created if missing */
  dir: string;
  /** @defaultValue a free port on 127.0.0.1 */
  port?: number;
  /** @defaultValue true */
  appendonly?: boolean;
  /** how long to wait for the server to accept connections, in milliseconds. @defaultValue 10000 */
  startTimeoutMs?: number;
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** stops the server this object started (by its pid), waiting for it to exit */
  stop(): Promise<void>;
}

export const REDIS_MISSING_HINT =
  'redis-server was not found on PATH. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server) or set REDIS_URL=redis://host:port to use a running server.';

export function findRedisServer(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'redis-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

/** Starts redis-server from PATH on loopback, with AOF on by default. */
export async function startEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const bin = findRedisServer();
  if (!bin) throw new PermanentError(REDIS_MISSING_HINT, { code: 'REDIS_MISSING' });
  mkdirSync(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', opts.dir,
    '--appendonly', opts.appendonly === false ? 'no' : 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--logfile', join(opts.dir, 'redis.log'),
  ];
  const child: ChildProcess = spawn(bin, args, { stdio: 'ignore' });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  while (!(await canConnect(port))) {
    if (exited) throw new PermanentError(`redis-server exited at start; see ${join(opts.dir, 'redis.log')}`, { code: 'REDIS_START' });
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new PermanentError(`redis-server did not accept connections on 127.0.0.1:${port} within ${opts.startTimeoutMs ?? 10_000} ms`, { code: 'REDIS_START' });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    dir: opts.dir,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
