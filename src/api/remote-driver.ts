import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { TemporaryError } from '../errors/index.js';
import type { DriverCapabilities, ReceiveOptions, SendOptions, SendStream, StorageDriver, Version } from '../storage/driver.js';
import { clientToken } from './auth.js';
import type { ListFilesystemsResponse__Output } from './generated/ferry/v1/ListFilesystemsResponse.js';
import type { ListVersionsResponse__Output } from './generated/ferry/v1/ListVersionsResponse.js';
import type { ReceiveRequest } from './generated/ferry/v1/ReceiveRequest.js';
import type { ReceiveResponse__Output } from './generated/ferry/v1/ReceiveResponse.js';
import type { SendResponse__Output } from './generated/ferry/v1/SendResponse.js';
import type { SnapshotResponse__Output } from './generated/ferry/v1/SnapshotResponse.js';
import { newEndpointClient, type EndpointClient } from './proto.js';
import { fromStatus } from './status.js';
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

function clientFor(address: string): EndpointClient {
  let c = clients.get(address);
  if (!c) {
    c = newEndpointClient(address);
    clients.set(address, c);
  }
  return c;
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

  /** One unary call: `start` makes it with the token's metadata and a deadline; gRPC errors become typed ones. */
  function unary<Res>(
    where: string, start: (md: grpc.Metadata, options: grpc.CallOptions, cb: grpc.requestCallback<Res>) => void, ms = deadlineMs,
  ): Promise<Res> {
    const md = metadata();
    return new Promise<Res>((resolve, reject) => {
      start(md, { deadline: Date.now() + ms }, (err, res) => (err ? reject(fromStatus(err, where)) : resolve(res!)));
    });
  }

  return {
    kind,
    endpoint: url,
    capabilities: CAPABILITIES[kind],

    async listFilesystems() {
      const res = await unary<ListFilesystemsResponse__Output>(`listing ${url}`, (md, co, cb) => client().listFilesystems({ endpoint }, md, co, cb));
      return res.filesystems ?? [];
    },

    async listVersions(fs) {
      const res = await unary<ListVersionsResponse__Output>(`listing versions of ${fs} in ${url}`, (md, co, cb) => client().listVersions({ endpoint, filesystem: fs }, md, co, cb));
      return (res.versions ?? []).map((v, i) => versionFromMsg(v, `versions[${i}]`));
    },

    async snapshot(filesystems, name) {
      const res = await unary<SnapshotResponse__Output>(`snapshot ${name} in ${url}`, (md, co, cb) => client().snapshot({ endpoint, filesystems, name }, md, co, cb), Math.max(deadlineMs, 600_000));
      return (res.versions ?? []).map((v, i) => versionFromMsg(v, `versions[${i}]`));
    },

    async send(fs, from, to, o: SendOptions = {}): Promise<SendStream> {
      const where = `sending ${fs} from ${url}`;
      const md = metadata();
      const call = client().send({ endpoint, filesystem: fs, from: from ? versionToMsg(from) : null, to: versionToMsg(to), intermediates: !!o.intermediates }, md);
      let finished = false;
      const cancel = () => { if (!finished) { finished = true; call.cancel(); } };
      o.signal?.addEventListener('abort', cancel, { once: true });
      if (o.signal?.aborted) cancel();
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<SendResponse__Output>;
      let first: IteratorResult<SendResponse__Output>;
      try {
        first = await messages.next();
      } catch (err) {
        o.signal?.removeEventListener('abort', cancel);
        throw fromStatus(err, where);
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
          let r: IteratorResult<SendResponse__Output>;
          try {
            r = await messages.next();
          } catch (err) {
            throw fromStatus(err, where);
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
      const response = new Promise<ReceiveResponse__Output>((resolve, reject) => {
        const call = client().receive(md, {}, (err, res) => {
          settled = true;
          onSettled();
          // answered (an error, a cancel) before the whole stream went out: stop reading the sender
          if (!ended) stream.destroy();
          if (err) reject(fromStatus(err, where));
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
