import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { EventObject } from 'xstate';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import type { InspectFn, InspectionEvent } from '../engine/inspection.js';
import type { MachineRecord, Registry } from '../engine/types.js';
import { closeServer, listenOn, trackSockets, urlHost, type ListenAddress } from './metrics-server.js';

/**
 * The `_version` field of the messages @statelyai/inspect 0.7.2 sends (its package version;
 * the library does not export it).
 */
export const STATELY_INSPECT_VERSION = '0.7.2';

interface MessageBase {
  sessionId: string;
  rootId: string;
  /** ms since epoch, as a string */
  createdAt: string;
  _version: string;
  /** what the library's XState converter sends for every message */
  id: null;
}
export interface InspectedSnapshot { status: string; value?: unknown; context?: unknown; output?: unknown }

/**
 * What goes over the WebSocket: the messages @statelyai/inspect builds from XState's own
 * inspection events (its `convertXStateEvent`), with a durable machine id as `sessionId`.
 * The target of an event is its `sessionId`.
 */
export type InspectorMessage =
  | MessageBase & { type: '@xstate.actor'; name: string; parentId: string | undefined; definition: string; snapshot: InspectedSnapshot }
  | MessageBase & { type: '@xstate.event'; event: EventObject; sourceId: string | undefined }
  | MessageBase & { type: '@xstate.snapshot'; event: EventObject; snapshot: InspectedSnapshot };

/** Where the bridge reads what an inspection event does not carry: an Engine. */
export interface InspectorSource {
  get(id: string): Promise<MachineRecord | null>;
  registry: Registry;
}

export interface InspectorBridgeOptions {
  log?: Logger;
  /** events held while records are looked up; the oldest are dropped beyond this. @defaultValue 10000 */
  maxPending?: number;
  /** machines remembered as announced (then announced again if seen). @defaultValue 10000 */
  maxKnown?: number;
}

/** a function in a machine config becomes `{ type: name }`, as the library serializes definitions */
const definitionReplacer = (_key: string, v: unknown) => (typeof v === 'function' ? { type: v.name || 'anonymous' } : v);

/**
 * Turns the engine's inspection events into Stately inspector messages. Every process sees only
 * the transitions it commits, so a machine whose `@xstate.actor` this process did not emit (it was
 * created elsewhere) is announced the first time one of its events arrives: its kind, parent and
 * current snapshot are read from Redis, and the machine definition (for the diagram) comes from the
 * registry. Messages leave in the order the engine emitted them.
 */
export class InspectorBridge {
  /** give this to the Engine as its `inspect` option */
  readonly inspect: InspectFn = (e) => this.push(e);
  private queue: InspectionEvent[] = [];
  private draining: Promise<void> | null = null;
  private target: { send: (m: InspectorMessage) => void; source: InspectorSource } | null = null;
  private readonly known = new Map<string, true>();
  /** latest announced instance of a child, by `<parent>\n<child id>`: the source of the child's events to its parent */
  private readonly children = new Map<string, string>();
  private readonly definitions = new Map<string, string>();
  private closed = false;
  private dropped = 0;
  private readonly maxPending: number;
  private readonly maxKnown: number;
  private log?: Logger;

  constructor(opts: InspectorBridgeOptions = {}) {
    this.log = opts.log;
    this.maxPending = opts.maxPending ?? 10_000;
    this.maxKnown = opts.maxKnown ?? 10_000;
  }

  /** Starts delivering (events that came earlier were held). */
  start(send: (m: InspectorMessage) => void, source: InspectorSource, log?: Logger): void {
    this.target = { send, source };
    this.log = log ?? this.log;
    this.kick();
  }

  /** Resolves when every event received so far is delivered (or the bridge is closed). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private push(e: InspectionEvent): void {
    if (this.closed) return;
    if (this.target && !this.draining && e.type !== '@xstate.actor' && this.known.has(e.sessionId)) {
      this.deliver(e);
      return;
    }
    this.queue.push(e);
    if (this.queue.length > this.maxPending) {
      this.queue.shift();
      if (this.dropped++ === 0) this.log?.warn({ maxPending: this.maxPending }, 'inspector falls behind: dropping the oldest inspection events');
    }
    this.kick();
  }

  private kick(): void {
    if (this.draining || !this.target || !this.queue.length) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.closed) {
      const e = this.queue.shift()!;
      try {
        if (e.type === '@xstate.actor') await this.announce(e.sessionId, e.rootId, { kind: e.kind, parentId: e.parentId, definition: e.definition });
        else {
          if (!this.known.has(e.sessionId)) await this.announce(e.sessionId, e.rootId);
          this.deliver(e);
        }
      } catch (err) {
        this.log?.warn({ err: (err as Error).message, machineId: e.sessionId }, 'inspection event not delivered');
      }
    }
  }

  private base(sessionId: string, rootId: string): MessageBase {
    return { sessionId, rootId, createdAt: Date.now().toString(), _version: STATELY_INSPECT_VERSION, id: null };
  }

  private async announce(id: string, rootId: string, hint: { kind?: string; parentId?: string; definition?: unknown } = {}): Promise<void> {
    const { send, source } = this.target!;
    const rec = await source.get(id).catch((err: Error) => {
      this.log?.debug({ err: err.message, machineId: id }, 'machine not read for the inspector');
      return null;
    });
    if (this.closed) return;
    const kind = hint.kind ?? rec?.kind;
    const parentId = hint.parentId ?? rec?.parent ?? undefined;
    const name = rec?.parentChildId ?? kind ?? id;
    if (parentId && rec?.parentChildId) this.remember(this.children, `${parentId}\n${rec.parentChildId}`, id);
    const snap = rec?.snapshot as { value?: unknown; context?: unknown; output?: unknown } | undefined;
    send({
      ...this.base(id, rootId), type: '@xstate.actor', name, parentId,
      definition: hint.definition === undefined ? this.definition(kind, name) : typeof hint.definition === 'string' ? hint.definition : JSON.stringify(hint.definition, definitionReplacer),
      snapshot: snap ? { status: rec!.status, value: snap.value, context: snap.context, output: snap.output } : { status: rec?.status ?? 'active' },
    });
    this.remember(this.known, id, true);
  }

  private deliver(e: Exclude<InspectionEvent, { type: '@xstate.actor' }>): void {
    const { send } = this.target!;
    if (e.type === '@xstate.event') send({ ...this.base(e.sessionId, e.rootId), type: '@xstate.event', event: e.event, sourceId: e.sourceId ?? this.sourceOf(e.sessionId, e.event) });
    else send({ ...this.base(e.sessionId, e.rootId), type: '@xstate.snapshot', event: e.event, snapshot: e.snapshot });
  }

  /** a child machine's done/error/state event to its parent comes from the child's latest instance */
  private sourceOf(target: string, event: EventObject): string | undefined {
    const m = /^xstate\.(?:done|error)\.actor\.(.+)$/.exec(event.type);
    const childId = m ? m[1] : event.type === 'ferry.child.state' ? (event as { childId?: unknown }).childId : undefined;
    return typeof childId === 'string' ? this.children.get(`${target}\n${childId}`) : undefined;
  }

  private definition(kind: string | undefined, name: string): string {
    const key = kind ?? '';
    let def = this.definitions.get(key);
    if (def === undefined) {
      const config = kind ? this.target!.source.registry.machines[kind]?.machine.config : undefined;
      try {
        def = config ? JSON.stringify(config, definitionReplacer) : undefined;
      } catch {
        def = undefined;
      }
      def ??= JSON.stringify({ id: kind ?? name });
      this.definitions.set(key, def);
    }
    return def;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > this.maxKnown) map.delete(map.keys().next().value as string);
  }
}

export interface InspectorServer {
  /** the page to open in a browser (it frames STATELY_INSPECTOR_URL) */
  pageUrl: string;
  /** where inspector clients connect */
  wsUrl: string;
  address: AddressInfo;
  close(): Promise<void>;
}

/** the hosted inspector the page frames (what @statelyai/inspect/server's page frames) */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
/** messages replayed to a page that connects late, as @statelyai/inspect/server keeps */
const REPLAY = 200;

/**
 * The page @statelyai/inspect/server serves: the hosted inspector in an iframe, fed by postMessage
 * with what arrives over the WebSocket (buffered until the inspector says it is connected). It
 * connects back to the host it was loaded from, not to `localhost`.
 */
function bridgePage(): string {
  return `<!DOCTYPE html>
<html>
<head>
  <title>Stately Inspector</title>
  <style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${STATELY_INSPECTOR_URL}"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        buffer.forEach((event) => iframe.contentWindow.postMessage(event, '*'));
        buffer.length = 0;
      }
    });
    const ws = new WebSocket('ws://' + location.host);
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (connected) iframe.contentWindow.postMessage(data, '*');
      else buffer.push(data);
    };
  </script>
</body>
</html>`;
}

/**
 * The inspector server, on its WebSocket protocol as @statelyai/inspect/server (0.7.2) speaks it:
 * every message a client sends goes to every other client, and the last 200 are replayed to a
 * client that connects; GET serves the bridge page. Ours listens on `address` only and reports a
 * busy port as an error (the library's listens on every interface and has no error handler).
 */
export async function startInspectorServer(address: ListenAddress, flag = '--inspect'): Promise<InspectorServer> {
  // imported here: only `--inspect` needs it
  const { WebSocketServer, WebSocket } = await import('ws');
  const httpServer: Server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(bridgePage());
  });
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
  const replay: string[] = [];
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    for (const msg of replay) ws.send(msg);
    ws.on('message', (data) => {
      const msg = data.toString();
      replay.push(msg);
      if (replay.length > REPLAY) replay.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(msg);
    });
  });
  const sockets = trackSockets(httpServer);
  const bound = await listenOn(httpServer, address, flag);
  httpServer.on('error', () => undefined);
  const host = urlHost(bound.address, { connectable: true });
  return {
    pageUrl: `http://${host}:${bound.port}`,
    wsUrl: `ws://${host}:${bound.port}`,
    address: bound,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await closeServer(httpServer, sockets);
    },
  };
}

export interface Inspector {
  server: InspectorServer;
  close(): Promise<void>;
}

/**
 * The inspector server plus this process's WebSocket inspector client, fed by `bridge`:
 * browsers that open the page receive the messages (the server replays its last 200 to a page
 * that connects late).
 */
export async function startInspector(opts: { address: ListenAddress; bridge: InspectorBridge; source: InspectorSource; log?: Logger }): Promise<Inspector> {
  const server = await startInspectorServer(opts.address);
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const client = createWebSocketInspector({ url: server.wsUrl });
  opts.bridge.start((m) => client.adapter.send(m as unknown as StatelyInspectionEvent), opts.source, opts.log);
  return {
    server,
    async close() {
      await Promise.race([opts.bridge.idle(), new Promise((r) => setTimeout(r, 2000).unref())]);
      opts.bridge.close();
      client.stop();
      await server.close();
    },
  };
}
