import * as grpc from '@grpc/grpc-js';
import { clientToken } from './auth.js';
import { fromStatus } from './status.js';

/** Client-side calls to `ferry agent`, shared by the remote driver and the remote log source. */

/** A token, or a function reading it at each call. */
export type TokenSource = string | (() => string);

/**
 * The metadata every call carries: `authorization: Bearer <token>`. Without `token`, the file named
 * by FERRY_TOKEN_FILE is read now, so a rotated file is picked up (PermanentError TOKEN_MISSING
 * when the variable is unset).
 */
export function tokenMetadata(token?: TokenSource): grpc.Metadata {
  const value = typeof token === 'function' ? token() : token ?? clientToken();
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${value}`);
  return md;
}

/** Makes one unary call with the metadata and options given, answering `cb`. */
export type StartCall<Res> = (md: grpc.Metadata, options: grpc.CallOptions, cb: grpc.requestCallback<Res>) => void;

/**
 * One unary call: `start` makes it with the given metadata and a deadline `deadlineMs` from now;
 * a gRPC error becomes ferry's typed error, its message prefixed with `where`.
 */
export function unaryCall<Res>(where: string, md: grpc.Metadata, deadlineMs: number, start: StartCall<Res>, o: { tls?: boolean; target?: string } = {}): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    start(md, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(fromStatus(err, where, o)) : resolve(res!)));
  });
}
