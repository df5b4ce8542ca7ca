import * as grpc from '@grpc/grpc-js';
import type { ReceiveOptions, SendOptions, SendStream, StorageDriver, Version } from '../driver.js';
import { sendFlagsOf } from '../../../machines/send-options.js';
import { MAX_CHUNK, readHeadered } from '../../grpc/chunk-stream.js';
import type { DestroySnapshotResponse__Output } from '../../grpc/generated/ferry/v1/DestroySnapshotResponse.js';
import type { ListFilesystemsResponse__Output } from '../../grpc/generated/ferry/v1/ListFilesystemsResponse.js';
import type { ListVersionsResponse__Output } from '../../grpc/generated/ferry/v1/ListVersionsResponse.js';
import type { ReceiveRequest } from '../../grpc/generated/ferry/v1/ReceiveRequest.js';
import type { ReceiveResponse__Output } from '../../grpc/generated/ferry/v1/ReceiveResponse.js';
import type { SnapshotResponse__Output } from '../../grpc/generated/ferry/v1/SnapshotResponse.js';
import type { ResumeTokenResponse__Output } from '../../grpc/generated/ferry/v1/ResumeTokenResponse.js';
import type { DescribeReceiverResponse__Output } from '../../grpc/generated/ferry/v1/DescribeReceiverResponse.js';
import { clientFor, forgetClient } from '../../grpc/endpoint-channels.js';
import type { EndpointClient } from '../../grpc/proto.js';
import { agentTarget } from '../../grpc/agent-target.js';
import { tokenMetadata, unaryCall, type StartCall, type TokenSource } from '../../grpc/remote-call.js';
import { DEFAULT_PROGRESS_TIMEOUT_MS, stalledError, withinProgress } from '../../grpc/progress.js';
import { fromStatus } from '../../grpc/status.js';
import { isUnreachable } from '../../grpc/unreachable.js';
import { versionFromMsg, versionToMsg } from './version-message.js';
import { describesReceiver, REMOTE_CAPABILITIES, resumes } from './capabilities.js';

type Kind = StorageDriver['kind'];

export interface RemoteEndpoint {
  /** the whole endpoint, grpc://host:port/dir:/srv/a */
  url: string;
  /** host:port of the agent */
  address: string;
  /** the endpoint as the agent serves it, dir:/srv/a */
  endpoint: string;
  kind: Kind;
  /** grpcs:// (TLS) rather than grpc:// */
  tls: boolean;
}

export interface RemoteDriverOptions {
  /** default: the file named by FERRY_TOKEN_FILE, read at each call */
  token?: TokenSource;
  /** per unary call; default 60 s (taking and destroying snapshots 10 min) */
  deadlineMs?: number;
  /**
   * Send and Receive: how long a stream may wait for the agent (the next message, room to write,
   * the answer after the last byte) before it is cancelled with a temporary DEADLINE_EXCEEDED error;
   * default DEFAULT_PROGRESS_TIMEOUT_MS (2 min)
   */
  progressTimeoutMs?: number;
}

/** A StorageDriver whose every method is a call to `ferry agent` (proto/ferry/v1/endpoint.proto). */
export function createRemoteDriver(remote: RemoteEndpoint, opts: RemoteDriverOptions = {}): StorageDriver {
  const { url, address, endpoint, kind, tls } = remote;
  const deadlineMs = opts.deadlineMs ?? 60_000;
  const progressTimeoutMs = opts.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
  const metadata = () => tokenMetadata(opts.token);
  const client = () => clientFor(address, tls);
  /** the agent as health records name it (see targetOf) */
  const target = agentTarget(address, tls);
  /** an unreachable agent's channel is dropped, so the first call after it is back dials afresh */
  const dropIfUnreachable = <T>(c: EndpointClient, p: Promise<T>): Promise<T> => p.catch((e: unknown) => {
    if (isUnreachable(e)) forgetClient(c);
    throw e;
  });
  /** `start` makes the call on the channel given: the one dropped if the agent is unreachable */
  const unary = <Res>(where: string, start: (c: EndpointClient, ...call: Parameters<StartCall<Res>>) => void, ms = deadlineMs) => {
    const c = client();
    return dropIfUnreachable(c, unaryCall<Res>(where, metadata(), ms, (md, co, cb) => start(c, md, co, cb), { tls, target }));
  };

  return {
    kind,
    endpoint: url,
    capabilities: REMOTE_CAPABILITIES[kind],

    async listFilesystems() {
      const res = await unary<ListFilesystemsResponse__Output>(`listing ${url}`, (c, md, co, cb) => c.listFilesystems({ endpoint }, md, co, cb));
      return res.filesystems ?? [];
    },

    async listVersions(fs) {
      const res = await unary<ListVersionsResponse__Output>(`listing versions of ${fs} in ${url}`, (c, md, co, cb) => c.listVersions({ endpoint, filesystem: fs }, md, co, cb));
      return (res.versions ?? []).map((v, i) => versionFromMsg(v, `versions[${i}]`));
    },

    async snapshot(filesystems, name) {
      const res = await unary<SnapshotResponse__Output>(`snapshot ${name} in ${url}`, (c, md, co, cb) => c.snapshot({ endpoint, filesystems, name }, md, co, cb), Math.max(deadlineMs, 600_000));
      return (res.versions ?? []).map((v, i) => versionFromMsg(v, `versions[${i}]`));
    },

    async destroySnapshot(fs, name) {
      await unary<DestroySnapshotResponse__Output>(`destroying ${fs}@${name} in ${url}`, (c, md, co, cb) => c.destroySnapshot({ endpoint, filesystem: fs, name }, md, co, cb), Math.max(deadlineMs, 600_000));
    },

    // only zfs receives can resume: no extra call per step for dir and btrfs agents
    ...(resumes(kind) ? {
      async resumeToken(fs: string) {
        const res = await unary<ResumeTokenResponse__Output>(`reading the resume token of ${fs} in ${url}`, (c, md, co, cb) => c.resumeToken({ endpoint, filesystem: fs }, md, co, cb));
        return res.token ? res.token : null;
      },
    } : {}),

    async send(fs, from, to, o: SendOptions = {}): Promise<SendStream> {
      const c = client();
      const call = c.send({
        endpoint, filesystem: fs, from: from ? versionToMsg(from) : null, to: versionToMsg(to), intermediates: !!o.intermediates, resumeToken: o.resumeToken ?? '',
        ...sendFlagsOf(o.flags), streamProtocol: o.streamProtocol ?? 0,
      }, metadata());
      const { header, stream } = await dropIfUnreachable(c, readHeadered(call, `sending ${fs} from ${url}`, o.signal, { tls, target, progressTimeoutMs }));
      const size = header.sizeEstimate?.bytes;
      return { stream, ...(size === undefined ? {} : { sizeEstimate: size }) };
    },

    // asked at every step, as the agent may have been upgraded since; an agent from before the call: version 1
    ...(describesReceiver(kind) ? {
      async receiveProtocol() {
        try {
          const res = await unary<DescribeReceiverResponse__Output>(`asking ${url} which btrfs stream it reads`, (c, md, co, cb) => c.describeReceiver({ endpoint }, md, co, cb));
          return Math.max(1, res.btrfsStreamProtocol ?? 0);
        } catch (err) {
          if ((err as { code?: string }).code === 'UNIMPLEMENTED') return 1;
          throw err;
        }
      },
    } : {}),

    async receive(fs, stream, o: ReceiveOptions = {}): Promise<Version> {
      const where = `receiving ${fs} into ${url}`;
      const md = metadata();
      // made first: a channel that cannot be made (bad TLS files) fails here, with its own error
      const agent = client();
      let settled = false;
      let ended = false;
      let onSettled = () => {};
      let callRef!: grpc.ClientWritableStream<ReceiveRequest>;
      const response = new Promise<ReceiveResponse__Output>((resolve, reject) => {
        const call = agent.receive(md, {}, (err, res) => {
          settled = true;
          onSettled();
          // answered (an error, a cancel) before the whole stream went out: stop reading the sender
          if (!ended) stream.destroy();
          if (!err) return resolve(res!);
          const e = fromStatus(err, where, { tls, target });
          if (isUnreachable(e)) forgetClient(agent);
          reject(e);
        });
        callRef = call;
      });
      const call = callRef;
      response.catch(() => {});
      const cancel = () => { if (!settled) call.cancel(); };
      o.signal?.addEventListener('abort', cancel, { once: true });
      if (o.signal?.aborted) cancel();
      /** an agent that takes nothing, or does not answer, for progressTimeoutMs: cancelled, and that is the error */
      let stall: Error | null = null;
      const progress = <T>(wait: Promise<T>, waitingFor: string) => withinProgress(wait, progressTimeoutMs, () => (stall = stalledError(where, waitingFor, progressTimeoutMs)), cancel);
      const write = async (msg: ReceiveRequest) => {
        if (settled || call.write(msg)) return;
        let done = () => {};
        const drained = new Promise<void>((resolve) => {
          done = () => { call.off('drain', done); onSettled = () => {}; resolve(); };
          call.on('drain', done);
          onSettled = done;
        });
        await progress(drained, 'the agent to take more').finally(done);
      };
      try {
        await write({ header: { endpoint, filesystem: fs, receiveSet: o.overrides?.receiveSet ?? [], receiveExclude: o.overrides?.receiveExclude ?? [] } });
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
        if (stall) throw stall;
        if (settled) await response; // the agent's answer (its error) says more than the stream's
        throw err;
      }
      try {
        const res = await progress(response, 'the answer after the last byte');
        return versionFromMsg(res.version, 'version');
      } finally {
        o.signal?.removeEventListener('abort', cancel);
      }
    },
  };
}
