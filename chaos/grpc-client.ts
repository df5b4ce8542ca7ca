import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/**
 * A generic gRPC client for fuzzing: the .proto files loaded with @grpc/proto-loader, every method
 * called by its path with either the proto serializer or raw bytes (identity serializer), and every
 * call reduced to an Outcome: the status it got, or `noAnswer` when nothing came within the deadline.
 */

const PROTO_ROOT = fileURLToPath(new URL('../proto/', import.meta.url));
/** int64 as strings both ways, so the edges (±2^63) can be sent exactly */
const OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_ROOT] };

export type MethodDef = protoLoader.MethodDefinition<object, object>;

/** path, streaming kind and (de)serializers of every method of a service, e.g. ('ferry/v1/endpoint.proto', 'ferry.v1.Endpoint') */
export function loadService(file: string, service: string): Record<string, MethodDef> {
  const def = protoLoader.loadSync(file, OPTIONS);
  return def[service] as unknown as Record<string, MethodDef>;
}

export interface Outcome {
  /** status code; OK for a success */
  code: grpc.status;
  details: string;
  /** no status and no message within the deadline (the client gave up) */
  noAnswer: boolean;
  /** messages received (server streams) */
  messages: number;
}

export type Auth = { kind: 'token'; token: string } | { kind: 'none' } | { kind: 'raw'; value: string };

function metadataOf(auth: Auth): grpc.Metadata {
  const md = new grpc.Metadata();
  if (auth.kind === 'token') md.set('authorization', `Bearer ${auth.token}`);
  if (auth.kind === 'raw') md.set('authorization', auth.value);
  return md;
}

const identity = (b: Buffer) => b;

/**
 * Calls to one address; every call has a deadline and a connection of its own, so a call that
 * breaks its HTTP/2 connection takes no other call down with it.
 */
export class FuzzClient {
  constructor(private readonly address: string, private readonly deadlineMs: number) {}

  close(): void {
    // nothing shared to close: each call closes its own client
  }

  private client(): grpc.Client {
    return new grpc.Client(this.address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  /**
   * Calls `m` with `messages` (objects encoded by the proto serializer, or Buffers sent as they are).
   * A unary or server-stream method takes the first message; a client stream writes them all, then
   * ends (or cancels after the writes when `cancelAfterWrites`). A server stream is cancelled after
   * `maxMessages` (an endless stream that answers is an answer).
   */
  call(m: MethodDef, messages: Array<object | Buffer>, auth: Auth, opts: { cancelAfterWrites?: boolean; maxMessages?: number; deadlineMs?: number } = {}): Promise<Outcome> {
    const serialize = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : m.requestSerialize(v));
    const md = metadataOf(auth);
    const callOpts = { deadline: Date.now() + (opts.deadlineMs ?? this.deadlineMs) };
    const client = this.client();
    return new Promise<Outcome>((resolve) => {
      let messagesSeen = 0;
      let settled = false;
      const done = (code: grpc.status, details: string, noAnswer = false) => {
        if (settled) return;
        settled = true;
        setImmediate(() => client.close());
        resolve({ code, details: details.slice(0, 300), noAnswer, messages: messagesSeen });
      };
      const fromError = (err: grpc.ServiceError | null) => {
        if (!err) return done(grpc.status.OK, '');
        // DEADLINE_EXCEEDED set by this client's own deadline: the server never answered
        const clientDeadline = err.code === grpc.status.DEADLINE_EXCEEDED && /deadline exceeded/i.test(err.details ?? '');
        done(err.code, err.details ?? err.message, clientDeadline);
      };
      const deser = m.responseDeserialize as (b: Buffer) => unknown;
      if (!m.requestStream && !m.responseStream) {
        client.makeUnaryRequest(m.path, serialize, deser, messages[0] ?? {}, md, callOpts, (err) => fromError(err));
      } else if (!m.requestStream && m.responseStream) {
        const call = client.makeServerStreamRequest(m.path, serialize, deser, messages[0] ?? {}, md, callOpts);
        call.on('data', () => {
          messagesSeen++;
          if (opts.maxMessages !== undefined && messagesSeen >= opts.maxMessages) {
            done(grpc.status.OK, 'answered (stream cancelled by the fuzzer)');
            call.cancel();
          }
        });
        call.on('metadata', () => undefined);
        call.on('error', (err: grpc.ServiceError) => fromError(err));
        call.on('status', (s: grpc.StatusObject) => { if (s.code === grpc.status.OK) done(grpc.status.OK, ''); });
      } else if (m.requestStream && !m.responseStream) {
        const call = client.makeClientStreamRequest(m.path, identity, deser, md, callOpts, (err) => fromError(err));
        call.on('error', () => undefined);
        for (const msg of messages) call.write(serialize(msg));
        if (opts.cancelAfterWrites) {
          setTimeout(() => {
            call.cancel();
            done(grpc.status.CANCELLED, 'cancelled by the fuzzer');
          }, 100);
        } else call.end();
      } else {
        done(grpc.status.UNIMPLEMENTED, 'bidi streams are not fuzzed');
      }
    });
  }
}
