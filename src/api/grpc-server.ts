import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../errors/index.js';

/** What ferry's gRPC servers (agent, orchestrator) share: binding, shutdown, backpressured writes. */

/**
 * Binds `server` on host:port (0 picks a free port); a port in use or a bad address is an
 * InvalidArgumentError naming `flag`. Returns the address actually bound and a close that lets
 * running calls finish for up to graceMs, then cancels them.
 */
export async function bindServer(server: grpc.Server, o: { host: string; port: number; credentials?: grpc.ServerCredentials; flag: string }): Promise<{
  address: string;
  port: number;
  close(graceMs?: number): Promise<void>;
}> {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${o.port}`, o.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(new InvalidArgumentError(`${o.flag} ${host}:${o.port}: cannot listen: ${err.message}`, { code: 'LISTEN_FAILED', cause: err }));
      else resolve(p);
    });
  });
  return {
    address: `${host}:${port}`,
    port,
    close: (graceMs = 10_000) => new Promise<void>((resolve) => {
      const force = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
      server.tryShutdown(() => { clearTimeout(force); resolve(); });
    }),
  };
}

/**
 * A write to a server stream that waits for 'drain' when the call's buffer is full, so a slow
 * client holds the producer back instead of growing memory here; an aborted `signal` ends the wait.
 */
export function backpressuredWriter<Res>(call: grpc.ServerWritableStream<unknown, Res>, signal: AbortSignal): (msg: Res) => Promise<void> {
  return async (msg: Res) => {
    if (call.write(msg)) return;
    await new Promise<void>((resolve) => {
      const done = () => { call.off('drain', done); signal.removeEventListener('abort', done); resolve(); };
      call.on('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });
  };
}
