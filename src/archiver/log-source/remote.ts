import { Readable } from 'node:stream';
import type { ArchiverLogSource, PartitionRef, PartitionState } from '../contracts.js';
import { InvalidArgumentError, TemporaryError } from '../../errors/index.js';
import { agentAddress } from '../../storage/endpoint.js';
import { readHeadered } from '../../grpc/chunk-stream.js';
import type { AcknowledgeResponse__Output } from '../../grpc/generated/ferry/v1/AcknowledgeResponse.js';
import type { EndpointGetPartitionResponse__Output } from '../../grpc/generated/ferry/v1/EndpointGetPartitionResponse.js';
import type { EndpointListPartitionsResponse__Output } from '../../grpc/generated/ferry/v1/EndpointListPartitionsResponse.js';
import type { PartitionState__Output } from '../../grpc/generated/ferry/v1/PartitionState.js';
import type { PruneResponse__Output } from '../../grpc/generated/ferry/v1/PruneResponse.js';
import { tokenMetadata, unaryCall, type StartCall, type TokenSource } from '../../grpc/remote-call.js';
import { clientFor } from '../../grpc/endpoint-channels.js';

export interface RemoteLogSourceOptions {
  /** default: the file named by FERRY_TOKEN_FILE, read at each call */
  token?: TokenSource;
  /** per unary call; default 60 s */
  deadlineMs?: number;
  /** ReadEntry: how long the stream may wait for the agent's next message; default DEFAULT_PROGRESS_TIMEOUT_MS (2 min) */
  progressTimeoutMs?: number;
}

/**
 * `grpc://HOST:PORT` (a trailing `/` is accepted): the log source a `ferry agent --log-root` serves.
 * There is no path: an agent serves one log root. Returns the URL normalized (no trailing `/`).
 */
export function parseLogSourceUrl(url: string): { url: string; address: string } {
  const m = /^grpc:\/\/([^/]+)\/?$/.exec(url);
  const address = m ? agentAddress(m[1]) : null;
  if (!address) {
    throw new InvalidArgumentError(`invalid log source ${JSON.stringify(url)}: expected a directory or grpc://host:port (an agent started with --log-root), e.g. grpc://10.0.0.5:7001`, { code: 'INVALID_LOG_SOURCE' });
  }
  return { url: `grpc://${address}`, address };
}

function stateFromMsg(m: PartitionState__Output | null | undefined, where: string): PartitionState {
  if (!m?.storage || !m.partition) throw new TemporaryError(`${where}: the agent sent a partition without storage or partition name`, { code: 'PROTOCOL' });
  const positions: Record<string, number> = {};
  // a map entry's value 0 may arrive absent: the consumer is registered at 0
  for (const [consumer, lsn] of Object.entries(m.positions ?? {})) positions[consumer] = Number(lsn ?? 0);
  return { storage: m.storage, partition: m.partition, lowWaterMark: m.lowWaterMark ?? 0, highWaterMark: m.highWaterMark ?? 0, positions };
}

/**
 * A LogSource whose every method is a call to `ferry agent --log-root` (proto/ferry/v1/endpoint.proto),
 * with the remote driver's channel cache, token and error mapping: the log source's own error
 * codes (PARTITION_NOT_FOUND, NOT_COMMITTED, ENTRY_NOT_FOUND...) come back on the typed errors.
 */
export function createRemoteLogSource(logUrl: string, opts: RemoteLogSourceOptions = {}): ArchiverLogSource {
  const { url, address } = parseLogSourceUrl(logUrl);
  const deadlineMs = opts.deadlineMs ?? 60_000;
  const client = () => clientFor(address);
  const unary = <Res>(where: string, start: StartCall<Res>) => unaryCall<Res>(where, tokenMetadata(opts.token), deadlineMs, start);
  const name = (p: PartitionRef) => `${p.storage}/${p.partition} of ${url}`;
  // only the two names: a PartitionState passed as a ref carries more
  const ref = (p: PartitionRef) => ({ storage: p.storage, partition: p.partition });

  async function acknowledge(p: PartitionRef, consumer: string, lsn: number): Promise<void> {
    await unary<AcknowledgeResponse__Output>(`acknowledging LSN ${lsn} of ${name(p)} for ${consumer}`, (md, co, cb) => client().acknowledge({ ...ref(p), consumer, lsn }, md, co, cb));
  }

  async function prune(p: PartitionRef): Promise<number> {
    const res = await unary<PruneResponse__Output>(`pruning ${name(p)}`, (md, co, cb) => client().prune(ref(p), md, co, cb));
    return res.pruned ?? 0;
  }

  return {
    root: url,

    async listPartitions() {
      const where = `listing log partitions of ${url}`;
      const res = await unary<EndpointListPartitionsResponse__Output>(where, (md, co, cb) => client().listPartitions({}, md, co, cb));
      return (res.partitions ?? []).map((m) => stateFromMsg(m, where));
    },

    async partitionState(p) {
      const where = `reading log partition ${name(p)}`;
      const res = await unary<EndpointGetPartitionResponse__Output>(where, (md, co, cb) => client().getPartition(ref(p), md, co, cb));
      return stateFromMsg(res.partition, where);
    },

    async readEntry(p, lsn, signal) {
      const where = `reading entry ${lsn} of ${name(p)}`;
      const call = client().readEntry({ ...ref(p), lsn }, tokenMetadata(opts.token));
      const { header, stream } = await readHeadered(call, where, signal, { progressTimeoutMs: opts.progressTimeoutMs });
      const size = header.size || undefined;
      if (size === undefined) return { stream };
      // a stream that ends cleanly but short would be archived as a different entry: refuse it
      const checked = Readable.from((async function* exactly() {
        let n = 0;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          n += chunk.length;
          yield chunk;
        }
        if (n !== size) throw new TemporaryError(`${where}: the agent announced ${size} bytes and sent ${n}`, { code: 'TRUNCATED_STREAM' });
      })(), { objectMode: false });
      return { stream: checked, size };
    },

    acknowledge,
    prune,

    /** two calls: the agent keeps the log source's own checks and locking for each */
    async acknowledgeAndPrune(p, consumer, lsn) {
      await acknowledge(p, consumer, lsn);
      return prune(p);
    },
  };
}
