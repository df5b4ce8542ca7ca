import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { jobNameField, partitionSelectorField, runIdField, signalField } from '../api/request-fields.js';
import type { Engine } from '../engine/engine.js';
import { fieldOf, InvalidArgumentError, PermanentError } from '../errors/index.js';
import { closeServer, listenOn, trackSockets, urlHost, type ListenAddress } from '../observability/metrics-server.js';
import type { Orchestrator } from '../service/views.js';
import { ensureAssets, readAsset } from './assets.js';
import { authorized, login, readBody, refuseJson, refusalPage, TOKEN_COOKIE } from './auth.js';
import { streamTransitions } from './events.js';
import { DiagramCache, listMachines, machineContext, machineDetail } from './machines.js';
import { mountBullBoard, QUEUES_PATH } from './queues.js';

export interface UiServerOptions {
  address: ListenAddress;
  /** the token of `ferry serve --token-file`, as the gRPC API takes it */
  token: string;
  /** PEM certificate and key (the files of --tls-cert/--tls-key): https instead of http; `ca` (--tls-client-ca): mutual TLS */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer } | null;
  orchestrator: Orchestrator;
  engine: Engine;
  /** the app's connection, for bull-board */
  redis: Redis;
  log: Logger;
  /** the built web app; default: the package's (built on demand in a source checkout) */
  assetsDir?: string;
  /** the flag named in a listen error. @defaultValue '--ui' */
  flag?: string;
}

export interface UiServer {
  url: string;
  address: AddressInfo;
  close(): Promise<void>;
}

/** machines of each kind the list shows (newest first), unless `?perKind=` says, and the most it may say */
const DEFAULT_PER_KIND = 5000;
const MAX_PER_KIND = 10_000;

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  const code = (err as { code?: unknown }).code;
  if (code === 'NOT_FOUND') return 404;
  if (err instanceof InvalidArgumentError) return 400;
  if (err instanceof PermanentError) return 409;
  return 500;
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  // a JSON body only: a cross-site form cannot send one without the browser asking first (CORS)
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send the action as application/json');
  const text = await readBody(req);
  try {
    const v = text ? JSON.parse(text) : {};
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // below
  }
  throw new HttpError(400, 'the body is not a JSON object');
}

/**
 * `ferry serve --ui`: the live view. The web app, its JSON API, the transition stream (SSE) and
 * bull-board, all behind the token of the gRPC API (a bearer header or the login form's cookie).
 */
export async function startUiServer(o: UiServerOptions): Promise<UiServer> {
  const assets = await ensureAssets(o.assetsDir);
  const diagrams = new DiagramCache(o.engine);
  const board = mountBullBoard(o.redis, o.engine.prefix);
  const secure = !!o.tls;
  const orch = o.orchestrator;

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const parts = path.split('/').slice(2).map(decodeURIComponent);
    const [what, name, verb] = parts;
    if (req.method === 'GET') {
      if (path === '/api/events') return streamTransitions(req, res, url, orch);
      if (path === '/api/overview') {
        const logId = await o.engine.transitions.lastId();
        const [jobs, runs, partitions, targets, queues] = await Promise.all([
          orch.listJobs(), orch.listRuns({ limit: 50 }), orch.listPartitions(), orch.listTargets(), o.engine.queueCounts(),
        ]);
        return json(res, 200, { jobs, runs, partitions, targets, queues, logId });
      }
      if (path === '/api/machines') {
        const perKind = Math.min(MAX_PER_KIND, Math.max(1, Number(url.searchParams.get('perKind')) || DEFAULT_PER_KIND));
        const logId = await o.engine.transitions.lastId();
        return json(res, 200, { machines: await listMachines(o.engine, perKind), logId });
      }
      if (what === 'machines' && name && parts.length === 3 && parts[2] === 'context') {
        const c = await machineContext(o.engine, name);
        if (!c) throw new HttpError(404, `no machine with id ${name}`);
        return json(res, 200, c);
      }
      if (what === 'machines' && name && parts.length === 2) {
        const d = await machineDetail(o.engine, name);
        if (!d) throw new HttpError(404, `no machine with id ${name}`);
        return json(res, 200, d);
      }
      if (what === 'diagrams' && parts.length === 1) return json(res, 200, { kinds: diagrams.kinds() });
      if (what === 'diagrams' && name && parts.length === 2) {
        const d = diagrams.get(name);
        if (!d) throw new HttpError(404, `no machine kind ${name}: use ${diagrams.kinds().join(', ')}`);
        return json(res, 200, await d);
      }
      if (what === 'runs' && name && parts.length === 2) return json(res, 200, await orch.getRun(runIdField(name)));
    }
    if (req.method === 'POST') {
      if (what === 'jobs' && name && verb === 'run' && parts.length === 3) {
        await jsonBody(req);
        const r = await orch.runJob(jobNameField(name));
        o.log.info({ job: name, runId: r.runId, started: r.started }, 'live view: job run');
        return json(res, 200, r);
      }
      if (what === 'jobs' && name && verb === 'signal' && parts.length === 3) {
        const signal = signalField((await jsonBody(req)).signal);
        const r = await orch.signalJob(jobNameField(name), signal);
        o.log.info({ job: name, signal, outcome: r.outcome }, 'live view: job signalled');
        return json(res, 200, r);
      }
      if (path === '/api/partitions/reset') {
        const sel = partitionSelectorField(await jsonBody(req));
        const r = await orch.resetPartition(sel);
        o.log.info({ storage: sel.storage, partition: sel.partition }, 'live view: partition reset');
        return json(res, 200, r);
      }
    }
    throw new HttpError(req.method === 'GET' || req.method === 'POST' ? 404 : 405, `no such call: ${req.method} ${path}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ui');
    const path = url.pathname;
    if (path === '/login' && req.method === 'POST') return login(req, res, o.token, secure);
    if (path === '/logout') {
      res.writeHead(303, { location: '/', 'set-cookie': `${TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` });
      return void res.end();
    }
    if (!authorized(req, o.token)) {
      if (path.startsWith('/api/')) return refuseJson(res);
      return refusalPage(res, req.headers.authorization ? 'The token sent is not the one ferry serve was given.' : 'No token was given.');
    }
    if (path.startsWith('/api/')) {
      try {
        return await api(req, res, url);
      } catch (err) {
        const status = statusOf(err);
        if (status === 500) o.log.warn({ err: (err as Error).message, path }, 'live view call failed');
        const field = fieldOf(err);
        // bad input names its field, as the gRPC API's INVALID_ARGUMENT details do
        if (!res.headersSent) json(res, status, { error: (err as Error).message, ...(field ? { field } : {}) });
        else res.end();
        return;
      }
    }
    if (path === QUEUES_PATH || path.startsWith(`${QUEUES_PATH}/`)) return board.handle(req, res);
    const file = path === '/' || path === '/index.html' ? 'index.html' : path.startsWith('/assets/') ? path.slice('/assets/'.length) : null;
    const asset = file && req.method === 'GET' ? await readAsset(assets, file) : null;
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end(`not found: ${path}\n`);
    }
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'" });
    res.end(asset.body);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: Error) => {
      o.log.warn({ err: err.message }, 'live view request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  // mutual TLS as the gRPC API's --tls-client-ca: no certificate it signed, no connection
  const server: Server = o.tls
    ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key, ...(o.tls.ca ? { ca: o.tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, listener)
    : createHttpServer(listener);
  const sockets = trackSockets(server);
  let bound: AddressInfo;
  try {
    bound = await listenOn(server, o.address, o.flag ?? '--ui');
  } catch (err) {
    await board.close();
    throw err;
  }
  server.on('error', (err) => o.log.warn({ err: err.message }, 'live view server error'));
  return {
    url: `${secure ? 'https' : 'http'}://${urlHost(bound.address, { connectable: true })}:${bound.port}`,
    address: bound,
    async close() {
      await closeServer(server, sockets);
      await board.close();
    },
  };
}
