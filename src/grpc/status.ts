import * as grpc from '@grpc/grpc-js';
import { FerryError, InvalidArgumentError, PermanentError, TemporaryError, isRetryable } from '../errors/index.js';
import { tlsProblem } from './tls.js';

/** Trailing metadata key carrying a FerryError's machine-readable code. */
export const ERROR_CODE_KEY = 'ferry-error-code';

/** An error as a gRPC status, for the agent side. */
export interface StatusError {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

/**
 * The most a status message may take in the `grpc-message` trailer, percent-encoded as grpc-js
 * sends it: a longer trailer never reaches the client, whose call then waits for its deadline.
 */
export const MAX_STATUS_DETAILS_BYTES = 4096;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Pure: lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, which ES2022 lacks). */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/** A ferry error code as trailing metadata takes it (an ASCII header value); anything else is left out. */
function setErrorCode(metadata: grpc.Metadata, code: string): void {
  if (/^[A-Za-z0-9_.-]{1,100}$/.test(code)) metadata.set(ERROR_CODE_KEY, code);
}

/**
 * Pure: `details` as a status may carry it: well-formed (grpc-js's encodeURI throws on a lone
 * surrogate) and, once percent-encoded, at most MAX_STATUS_DETAILS_BYTES, cut with its full length
 * said. The last guard: messages are bounded where they are made (src/errors quote, invalidField).
 */
export function boundStatusDetails(details: string, max = MAX_STATUS_DETAILS_BYTES): string {
  const text = wellFormed(details);
  if (encodeURI(text).length <= max) return text;
  const suffix = `…(${Buffer.byteLength(text)} bytes)`;
  const budget = max - encodeURI(suffix).length;
  // the longest prefix whose encoding fits (encoded length grows with the prefix)
  let lo = 0;
  let hi = Math.min(text.length, budget);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (encodeURI(wellFormed(text.slice(0, mid))).length <= budget) lo = mid;
    else hi = mid - 1;
  }
  return `${wellFormed(text.slice(0, lo))}${suffix}`;
}

/** A request problem the agent itself finds: INVALID_ARGUMENT naming the field (declared in src/errors). */
export { invalidField } from '../errors/index.js';

export class StatusFerryError extends PermanentError {
  constructor(readonly status: grpc.status, message: string, code: string) {
    super(message, { code });
  }
}

/** Refusals that are not driver errors (authentication, endpoints not served). */
export const unauthenticated = (message: string) => new StatusFerryError(grpc.status.UNAUTHENTICATED, message, 'UNAUTHENTICATED');
export const permissionDenied = (message: string) => new StatusFerryError(grpc.status.PERMISSION_DENIED, message, 'PERMISSION_DENIED');

/**
 * Errors to gRPC: codes NOT_FOUND and ALREADY_EXISTS keep their status (the orchestrator's lookups),
 * InvalidArgumentError -> INVALID_ARGUMENT, PermanentError -> FAILED_PRECONDITION,
 * TemporaryError -> UNAVAILABLE; anything else is retryable by ferry's rules -> UNAVAILABLE, or INTERNAL.
 * The message is kept and the ferry code goes into the trailing metadata.
 */
export function toStatus(err: unknown): StatusError {
  const metadata = new grpc.Metadata();
  if (err instanceof FerryError) {
    setErrorCode(metadata, err.code);
    const code = err instanceof StatusFerryError ? err.status
      : err.code === 'NOT_FOUND' ? grpc.status.NOT_FOUND
      : err.code === 'ALREADY_EXISTS' ? grpc.status.ALREADY_EXISTS
      : err instanceof InvalidArgumentError ? grpc.status.INVALID_ARGUMENT
        : err instanceof PermanentError ? grpc.status.FAILED_PRECONDITION
          : grpc.status.UNAVAILABLE;
    return { code, details: boundStatusDetails(err.message), metadata };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const nodeCode = (e as { code?: unknown }).code;
  if (typeof nodeCode === 'string') setErrorCode(metadata, nodeCode);
  return { code: isRetryable(e) && typeof nodeCode === 'string' ? grpc.status.UNAVAILABLE : grpc.status.INTERNAL, details: boundStatusDetails(e.message), metadata };
}

/**
 * A gRPC error back to ferry's typed errors, for the remote driver: UNAVAILABLE, DEADLINE_EXCEEDED,
 * CANCELLED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN -> TemporaryError (machines retry);
 * INVALID_ARGUMENT -> InvalidArgumentError; everything else (FAILED_PRECONDITION, UNAUTHENTICATED,
 * PERMISSION_DENIED, UNIMPLEMENTED...) -> PermanentError; NOT_FOUND and ALREADY_EXISTS -> InvalidArgumentError. The code is the agent's
 * `ferry-error-code` when it sent one. A connection that failed in the TLS handshake (untrusted or
 * missing certificate, TLS against plaintext) is a PermanentError coded TLS, as a wrong token is: no
 * retry fixes a configuration; a bare close that TLS likely explains stays temporary, with the hint.
 * `tls` says whether the channel is TLS (grpcs://), for those hints. `target` (the agent's address)
 * goes into the details, and `unreachable: true` when the agent could not be reached at all (see
 * isUnreachable).
 */
export function fromStatus(err: unknown, where: string, o: { tls?: boolean; target?: string } = {}): FerryError {
  const target = o.target;
  if (err instanceof FerryError) return err;
  const se = err as Partial<grpc.ServiceError> | null;
  if (typeof se?.code !== 'number') return new TemporaryError(`${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: target ? { target } : {} });
  const sent = se.metadata?.get(ERROR_CODE_KEY)[0];
  const name = grpc.status[se.code] ?? String(se.code);
  const code = typeof sent === 'string' && sent ? sent : name;
  const message = `${where}: ${se.details || se.message || name}`;
  // the agent answers its own UNAVAILABLE (a driver's temporary error) with its code; without one,
  // the status is the client's: no connection, a connection lost, no answer in time
  const unreachable = code === name && (se.code === grpc.status.UNAVAILABLE || se.code === grpc.status.DEADLINE_EXCEEDED);
  const opts = { code, cause: err, details: { grpcStatus: name, ...(target ? { target } : {}), ...(unreachable ? { unreachable: true } : {}) } };
  const tls = se.code === grpc.status.UNAVAILABLE ? tlsProblem(se.details ?? '', !!o.tls) : null;
  if (tls) {
    const text = `${where}: ${tls.certain ? 'TLS handshake failed: ' : ''}${tls.reason}; ${tls.hint}`;
    return tls.certain ? new PermanentError(text, { ...opts, code: 'TLS' }) : new TemporaryError(text, opts);
  }
  switch (se.code) {
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.NOT_FOUND:
    case grpc.status.ALREADY_EXISTS:
      // the caller named something wrong: a usage error, as when the CLI finds it itself
      return new InvalidArgumentError(message, opts);
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.CANCELLED:
    case grpc.status.RESOURCE_EXHAUSTED:
    case grpc.status.ABORTED:
    case grpc.status.INTERNAL:
    case grpc.status.UNKNOWN:
      return new TemporaryError(message, opts);
    case grpc.status.UNAUTHENTICATED:
      return new PermanentError(`${message} (check FERRY_TOKEN_FILE against the agent's --token-file)`, opts);
    default:
      return new PermanentError(message, opts);
  }
}
