import type { EffectError } from '../../machines/effect.js';
import { PROBLEM_CHARS, truncate } from './bounded.js';

export { quote, truncate, QUOTE_CHARS } from './bounded.js';

/**
 * Two roots for every error a machine must decide on: a TemporaryError is worth
 * retrying after a backoff (network, timeouts, busy), a PermanentError is not
 * (conflict, missing snapshot, invalid name, permission) and stops that one unit of work.
 */
export type ErrorKind = 'temporary' | 'permanent';

export interface FerryErrorOptions {
  cause?: unknown;
  /** machine-readable code, e.g. CONFLICT_DIVERGED */
  code?: string;
  details?: Record<string, unknown>;
}

export abstract class FerryError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(message: string, opts: FerryErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? 'ERROR';
    this.details = opts.details ?? {};
  }
}

export class TemporaryError extends FerryError {
  readonly kind = 'temporary' as const;
}

export class PermanentError extends FerryError {
  readonly kind = 'permanent' as const;
}

/** Bad input from a person (CLI flag, endpoint URL, name): never retried. */
export class InvalidArgumentError extends PermanentError {}

/**
 * Bad input in a named field (a job spec field, a gRPC request field): the message starts with the
 * field, and `details.field` carries it, so callers point at the field without reading the message.
 * The problem is cut to PROBLEM_CHARS: it may quote what was sent, which may be huge.
 */
export function invalidField(field: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`${field}: ${truncate(problem, PROBLEM_CHARS)}`, { code: 'INVALID_ARGUMENT', details: { field } });
}

/** The field an InvalidArgumentError names in `details.field`, if any. */
export function fieldOf(err: unknown): string | undefined {
  const field = err instanceof InvalidArgumentError ? err.details.field : undefined;
  return typeof field === 'string' ? field : undefined;
}

/**
 * Runs `check`; an InvalidArgumentError it throws without a field gets `field` (same message and
 * code), for checks that do not know which field their input came from (an endpoint parser).
 */
export function withField<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof InvalidArgumentError) || fieldOf(err) !== undefined) throw err;
    throw new InvalidArgumentError(truncate(err.message, PROBLEM_CHARS), { code: err.code, cause: err, details: { ...err.details, field } });
  }
}

/** The shape an error takes when it crosses into a machine event (JSON-safe). */
export type ErrorData = EffectError;

const TEMPORARY_NODE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAGAIN', 'EBUSY', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
]);

/** One place that decides whether an error is worth a retry. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof FerryError) return err.kind === 'temporary';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TEMPORARY_NODE_CODES.has(code)) return true;
  if ((err as { name?: unknown } | null)?.name === 'AbortError') return true;
  // Unknown failures are retried: a bug shows up as repeated retries with its message, not a silent stop.
  return !(err instanceof FerryError);
}

/**
 * An error as machine data. A temporary FerryError whose `details.retryAfterMs` is a non-negative
 * number passes it on, so the machine waits that long instead of its own backoff.
 */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof FerryError) {
    const data: ErrorData = { name: err.name, message: err.message, kind: err.kind, code: err.code };
    const wait = err.details.retryAfterMs;
    if (err.kind === 'temporary' && typeof wait === 'number' && Number.isFinite(wait) && wait >= 0) data.retryAfterMs = Math.round(wait);
    return data;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const code = typeof (e as { code?: unknown }).code === 'string' ? String((e as { code?: unknown }).code) : 'ERROR';
  return { name: e.name, message: e.message, kind: isRetryable(e) ? 'temporary' : 'permanent', code };
}
