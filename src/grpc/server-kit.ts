import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, TemporaryError } from '../errors/index.js';
import type { Logger } from '../util/logger.js';
import { bearerMatches } from './auth.js';
import { KEEPALIVE_OPTIONS } from './progress.js';
import { serviceDefinition, serviceName, type HealthHandlers } from './proto.js';
import { addReflection } from './reflection.js';
import { toStatus, unauthenticated, type StatusError } from './status.js';

/**
 * What ferry's gRPC servers (agent, orchestrator) share: binding, shutdown, backpressured writes,
 * and the wrapping of their handlers (token check, error mapping, logging), so both refuse and
 * report a call the same way.
 */

/** How a server wraps a handler: authentication, error mapping, logging, cancellation. */
export interface HandlerKit {
  unary<Req, Res>(method: string, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res>;
  /** `write` resolves when the client can take more; `signal` aborts when the client cancels */
  serverStream<Req, Res>(method: string, fn: (req: Req, write: (msg: Res) => Promise<void>, signal: AbortSignal) => Promise<void>): grpc.handleServerStreamingCall<Req, Res>;
}

/** The kit plus its parts, for handlers that wire a call themselves (client streams, long watches). */
export interface ServerKit extends HandlerKit {
  /** throws UNAUTHENTICATED unless the call carries the server's token as a Bearer token */
  authorize(md: grpc.Metadata): void;
  /** a failed call's gRPC status, logged (INTERNAL as an error, anything else as info) */
  fail(method: string, err: unknown): StatusError;
}

/** The handler kit of a server whose calls must carry `token`; `server` names it in the refusal ("agent"). */
export function serverKit(o: { token: string; log?: Logger; server: string }): ServerKit {
  const authorize = (md: grpc.Metadata) => {
    if (!bearerMatches(md.get('authorization')[0], o.token)) {
      throw unauthenticated(`missing or wrong token: send the metadata "authorization: Bearer <token>" with the token of the ${o.server}'s --token-file`);
    }
  };
  const fail = (method: string, err: unknown) => {
    const s = toStatus(err);
    o.log?.[s.code === grpc.status.INTERNAL ? 'error' : 'info']({ method, code: grpc.status[s.code], err: s.details }, 'call refused or failed');
    return s;
  };
  return {
    authorize,
    fail,
    unary: (method, fn) => (call, cb) => {
      (async () => {
        authorize(call.metadata);
        return fn(call.request);
      })().then((res) => cb(null, res), (err) => cb(fail(method, err)));
    },
    serverStream: <Req, Res>(method: string, fn: (req: Req, write: (msg: Res) => Promise<void>, signal: AbortSignal) => Promise<void>) => (call: grpc.ServerWritableStream<Req, Res>) => {
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort(new TemporaryError(`the client cancelled ${method}`, { code: 'CANCELLED' })));
      const write = backpressuredWriter<Res>(call, ac.signal);
      (async () => {
        authorize(call.metadata);
        await fn(call.request, write, ac.signal);
        if (!ac.signal.aborted) call.end();
      })().catch((err) => {
        if (!ac.signal.aborted) call.emit('error', fail(method, err));
      });
    },
  };
}

/** A server with ferry's options: keepalive pings, so a client that vanished has its calls cancelled. */
export function newServer(): grpc.Server {
  return new grpc.Server({ ...KEEPALIVE_OPTIONS });
}

/**
 * grpc.health.v1.Health/Check answering SERVING for `service` and for the server as a whole (""),
 * NOT_SERVING while `serving()` says no (the orchestrator while its Redis is unreachable).
 */
export function healthHandlers(service: string, serving: () => boolean = () => true): HealthHandlers {
  return {
    Check: (call, cb) => {
      const asked = call.request.service ?? '';
      if (asked === '' || asked === service) cb(null, { status: serving() ? 'SERVING' : 'NOT_SERVING' });
      else cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(asked)}` });
    },
  };
}

/**
 * What both servers answer without a token, besides `service` itself: grpc.health.v1.Health/Check
 * (SERVING for `service` and ""), and server reflection of `service` and Health.
 */
export function addStandardServices(server: grpc.Server, kind: 'endpoint' | 'orchestrator', serving?: () => boolean): void {
  const service = serviceName(kind);
  server.addService(serviceDefinition('health'), healthHandlers(service, serving));
  addReflection(server, kind, [service, serviceName('health')]);
}

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
