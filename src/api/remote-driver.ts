import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { TemporaryError } from '../errors/index.js';
import type { DriverCapabilities, ReceiveOptions, SendOptions, SendStream, StorageDriver, Version } from '../storage/driver.js';
import { clientToken } from './auth.js';
import { newEndpointClient, type EndpointClient, type ReceiveRequest, type ReceiveResponse, type SendResponse, type VersionMsg } from './proto.js';
import { fromStatus, isUnreachable } from './status.js';
import { MAX_CHUNK, versionFromMsg, versionToMsg } from './version.js';

type Kind = StorageDriver['kind'];

export interface RemoteEndpoint {
  /** the whole endpoint, grpc://host:port/dir:/srv/a */
  url: string;
  /** host:port of the agent */
  address: string;
  /** the endpoint as the agent serves it, dir:/srv/a */
  endpoint: string;
  kind: Kind;
}

export interface RemoteDriverOptions {
  /** default: the file named by FERRY_TOKEN_FILE, read at each call */
  token?: string | (() => string);
  /** per unary call; default 60 s (snapshots 10 min) */
  deadlineMs?: number;
}

/**
 * What a driver of each kind can do. Only `batch` changes a plan (zfs send -I); resumable receives
 * and atomic snapshots are not used through an agent, so they are reported false.
 */
const CAPABILITIES: Record<Kind, DriverCapabilities> = {
  dir: { batch: false, resumable: false, atomicSnapshots: false },
  btrfs: { batch: false, resumable: false, atomicSnapshots: false },
  zfs: { batch: true, resumable: false, atomicSnapshots: false },
};

/** One channel per agent address per process: drivers are opened per step, connections are kept. */
const clients = new Map<string, EndpointClient>();

/**
 * Each channel has its own subchannel (not grpc-js's process-wide pool), so a channel dropped by
 * `forget` takes its reconnect backoff with it and health probes do not share it.
 */
const CHANNEL_OPTIONS = { 'grpc.use_local_subchannel_pool': 1 };

function clientFor(address: string): EndpointClient {
  let c = clients.get(address);
  if (!c) {
    c = newEndpointClient(address, undefined, CHANNEL_OPTIONS);
    clients.set(address, c);
  }
  return c;
}

/**
 * Drops the channel of an agent that could not be reached: grpc-js fails calls at once while it
 * waits to reconnect (a wait that grows to 2 minutes), which would fail the first steps after the
 * agent is back; the next call dials afresh instead. Calls still running on it finish (close lets
 * them). Only `failed`, the channel that saw the error, is dropped, not a newer one.
 */
function forget(address: string, failed: EndpointClient): void {
  if (clients.get(address) !== failed) return;
  clients.delete(address);
  failed.close();
}

/** Closes every cached channel (tests; a process exits fine without it, idle channels hold no handle). */
export function closeRemoteClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

/** A StorageDriver whose every method is a call to `ferry agent` (proto/ferry/v1/endpoint.proto). */
export function createRemoteDriver(remote: RemoteEndpoint, opts: RemoteDriverOptions = {}): StorageDriver {
  const { url, address, endpoint, kind } = remote;
  const deadlineMs = opts.deadlineMs ?? 60_000;
  const metadata = () => {
    const token = typeof opts.token === 'function' ? opts.token() : opts.token ?? clientToken();
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };
  const client = () => clientFor(address);
  /** a gRPC error as ferry's error, naming the agent; an unreachable agent's channel is dropped */
  const failure = (err: unknown, where: string, c: EndpointClient) => {
    const e = fromStatus(err, where, address);
    if (isUnreachable(e)) forget(address, c);
    return e;
  };

  function unary<Req, Res>(
    method: 'listFilesystems' | 'listVersions' | 'snapshot', req: Req, where: string, ms = deadlineMs,
  ): Promise<Res> {
    const md = metadata();
    return new Promise<Res>((resolve, reject) => {
      const c = client();
      const fn = c[method] as unknown as (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;
      fn.call(c, req, md, { deadline: Date.now() + ms }, (err, res) => (err ? reject(failure(err, where, c)) : resolve(res!)));
    });
  }

  return {
    kind,
    endpoint: url,
    capabilities: CAPABILITIES[kind],

    async listFilesystems() {
      const res = await unary<object, { filesystems?: string[] }>('listFilesystems', { endpoint }, `listing ${url}`);
      return res.filesystems ?? [];
    },

    async listVersions(fs) {
      const res = await unary<object, { versions?: VersionMsg[] }>('listVersions', { endpoint, filesystem: fs }, `listing versions of ${fs} in ${url}`);
      return (res.versions ?? []).map((v, i) => versionFromMsg(v, `versions[${i}]`));
    },

    async snapshot(filesystems, name) {
      const res = await unary<object, { versions?: VersionMsg[] }>('snapshot', { endpoint, filesystems, name }, `snapshot ${name} in ${url}`, Math.max(deadlineMs, 600_000));
      return (res.versions ?? []).map((v, i) => versionFromMsg(v, `versions[${i}]`));
    },

    async send(fs, from, to, o: SendOptions = {}): Promise<SendStream> {
      const where = `sending ${fs} from ${url}`;
      const md = metadata();
      const c = client();
      const call = c.send({ endpoint, filesystem: fs, from: from ? versionToMsg(from) : null, to: versionToMsg(to), intermediates: !!o.intermediates }, md);
      let finished = false;
      const cancel = () => { if (!finished) { finished = true; call.cancel(); } };
      o.signal?.addEventListener('abort', cancel, { once: true });
      if (o.signal?.aborted) cancel();
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<SendResponse>;
      let first: IteratorResult<SendResponse>;
      try {
        first = await messages.next();
      } catch (err) {
        o.signal?.removeEventListener('abort', cancel);
        throw failure(err, where, c);
      }
      if (first.done || !first.value.header) {
        o.signal?.removeEventListener('abort', cancel);
        cancel();
        throw new TemporaryError(`${where}: the agent did not start the stream with a header`, { code: 'PROTOCOL' });
      }
      const size = first.value.header.sizeEstimate?.bytes;
      // pulled as the consumer reads: an unread stream stops reading the call, and HTTP/2 flow control stops the agent
      const stream = Readable.from((async function* chunks() {
        for (;;) {
          let r: IteratorResult<SendResponse>;
          try {
            r = await messages.next();
          } catch (err) {
            throw failure(err, where, c);
          }
          if (r.done) { finished = true; return; }
          if (r.value.chunk?.length) yield r.value.chunk;
        }
      })(), { objectMode: false });
      stream.once('close', () => { o.signal?.removeEventListener('abort', cancel); cancel(); });
      return { stream, ...(size === undefined ? {} : { sizeEstimate: size }) };
    },

    async receive(fs, stream, o: ReceiveOptions = {}): Promise<Version> {
      const where = `receiving ${fs} into ${url}`;
      const md = metadata();
      let settled = false;
      let ended = false;
      let onSettled = () => {};
      let callRef!: grpc.ClientWritableStream<ReceiveRequest>;
      const c = client();
      const response = new Promise<ReceiveResponse>((resolve, reject) => {
        const call = c.receive(md, {}, (err, res) => {
          settled = true;
          onSettled();
          // answered (an error, a cancel) before the whole stream went out: stop reading the sender
          if (!ended) stream.destroy();
          if (err) reject(failure(err, where, c));
          else resolve(res!);
        });
        callRef = call;
      });
      const call = callRef;
      response.catch(() => {});
      const cancel = () => { if (!settled) call.cancel(); };
      o.signal?.addEventListener('abort', cancel, { once: true });
      if (o.signal?.aborted) cancel();
      const write = async (msg: ReceiveRequest) => {
        if (settled || call.write(msg)) return;
        await new Promise<void>((resolve) => {
          const done = () => { call.off('drain', done); onSettled = () => {}; resolve(); };
          call.on('drain', done);
          onSettled = done;
        });
      };
      try {
        await write({ header: { endpoint, filesystem: fs } });
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          for (let i = 0; i < chunk.length && !settled; i += MAX_CHUNK) await write({ chunk: chunk.subarray(i, i + MAX_CHUNK) });
        }
        ended = true;
        if (!settled) call.end();
      } catch (err) {
        // the sender's stream failed: cancelling makes the agent abort the receive (nothing is applied)
        ended = true;
        cancel();
        o.signal?.removeEventListener('abort', cancel);
        if (settled) await response; // the agent's answer (its error) says more than the stream's
        throw err;
      }
      try {
        const res = await response;
        return versionFromMsg(res.version, 'version');
      } finally {
        o.signal?.removeEventListener('abort', cancel);
      }
    },
  };
}
