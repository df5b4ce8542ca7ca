import { createHash } from 'node:crypto';
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { FerryError, InvalidArgumentError, PermanentError, TemporaryError } from '../../errors/index.js';
import type { Sink, SinkObjectInfo } from '../contracts.js';

/**
 * A Sink on S3-compatible object storage (AWS S3, OpenStack Swift with s3api, ...).
 *
 *   s3://BUCKET[/PREFIX]?endpoint=http://127.0.0.1:8080&region=us-east-1
 *
 * Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or from
 * the `access_key` / `secret_key` query parameters (meant for tests). The secret never appears in
 * `sink.url`, in error messages or in logs. See docs/s3-sink.md.
 */

/** @defaultValue used when the URL has no `region` */
export const DEFAULT_REGION = 'us-east-1';
/** SDK timeouts, in milliseconds: the archiver's partition machines do their own backoff. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** until response headers; a PUT gets one more second per MB of body (a link of at least 1 MB/s) */
export const REQUEST_TIMEOUT_MS = 5_000;
/** longest silence on an open socket, including while a GET body streams */
export const SOCKET_IDLE_TIMEOUT_MS = 5_000;
/** one try and one SDK retry; then the error reaches the caller */
export const MAX_ATTEMPTS = 2;

const QUERY_PARAMS = ['endpoint', 'region', 'access_key', 'secret_key'] as const;
const USAGE = 'expected s3://bucket[/prefix]?endpoint=http://host:port&region=us-east-1';

export interface S3SinkConfig {
  bucket: string;
  /** without leading or trailing "/"; "" puts keys at the bucket's root */
  prefix: string;
  /** origin of an S3-compatible service (path-style requests); undefined for AWS itself */
  endpoint?: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** where the credentials came from (for messages) */
  credentialSource: 'url' | 'env';
  /** the URL with secret_key replaced by *** */
  redactedUrl: string;
}

/** The URL with the value of secret_key hidden, for messages; works on strings that are not URLs too. */
export function redactSinkUrl(url: string): string {
  return String(url).replace(/([?&]secret_key=)[^&#]*/gi, '$1***');
}

function invalid(url: string, part: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid sink URL ${redactSinkUrl(url)}: ${part} ${problem} (${USAGE})`, {
    code: 'INVALID_SINK_URL',
    details: { part },
  });
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Parses an s3:// sink URL as a person writes it. Throws InvalidArgumentError naming the part that
 * is wrong (scheme, bucket, prefix, a query parameter, credentials). Pure but for reading `env`.
 */
export function parseS3SinkUrl(url: string, env: NodeJS.ProcessEnv = process.env): S3SinkConfig {
  // parsed by hand: WHATWG URL would silently resolve "." and ".." in the prefix
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/.exec(typeof url === 'string' ? url : '');
  if (!m) throw invalid(String(url), 'the URL', 'is not of the form scheme://bucket/prefix');
  const [, scheme, authority, rawPath, rawQuery = '', fragment] = m;
  if (scheme.toLowerCase() !== 's3') throw invalid(url, `the scheme "${scheme}:"`, 'is not s3:');
  if (fragment !== undefined) throw invalid(url, 'the fragment (#...)', 'is not allowed');
  if (authority.includes('@')) {
    throw invalid(url, 'the user info (user:password@)', 'is not allowed: put credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or access_key/secret_key query parameters)');
  }
  const bucket = authority;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw invalid(url, `the bucket "${bucket}"`, 'is not a valid bucket name (3-63 characters: lowercase letters, digits, "." and "-", starting and ending with a letter or digit)');
  }

  // prefix: "/a/b" or "/a/b/" → "a/b"; "" or "/" → ""
  const path = rawPath.replace(/^\//, '').replace(/\/$/, '');
  let prefix = '';
  if (path) {
    const segments = path.split('/').map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw invalid(url, `the prefix "${rawPath}"`, 'has a bad percent-encoding');
      }
    });
    for (const s of segments) {
      if (s === '' || s === '.' || s === '..' || s.includes('/') || CONTROL.test(s)) {
        throw invalid(url, `the prefix "${rawPath}"`, 'must be segments separated by single "/", without "." or ".." or control characters');
      }
    }
    prefix = segments.join('/');
  }

  const params = new URLSearchParams(rawQuery);
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (!(QUERY_PARAMS as readonly string[]).includes(name)) {
      throw invalid(url, `the query parameter "${name}"`, `is unknown (known: ${QUERY_PARAMS.join(', ')})`);
    }
    if (seen.has(name)) throw invalid(url, `the query parameter "${name}"`, 'is given twice');
    seen.add(name);
    if (value === '') throw invalid(url, `the query parameter "${name}"`, 'is empty');
  }

  let endpoint: string | undefined;
  const rawEndpoint = params.get('endpoint');
  if (rawEndpoint !== null) {
    let e: URL;
    try {
      e = new URL(rawEndpoint);
    } catch {
      throw invalid(url, `the endpoint "${rawEndpoint}"`, 'is not a URL');
    }
    if (e.protocol !== 'http:' && e.protocol !== 'https:') throw invalid(url, `the endpoint "${rawEndpoint}"`, 'must be http:// or https://');
    if (e.username || e.password) throw invalid(url, 'the endpoint', 'must not carry credentials');
    if ((e.pathname !== '/' && e.pathname !== '') || e.search || e.hash) {
      throw invalid(url, `the endpoint "${rawEndpoint}"`, 'must be scheme://host[:port] without a path or query');
    }
    endpoint = e.origin;
  }

  const region = params.get('region') ?? DEFAULT_REGION;
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw invalid(url, `the region "${region}"`, 'is not a region name (e.g. us-east-1)');

  const accessKey = params.get('access_key');
  const secretKey = params.get('secret_key');
  let credentials: S3SinkConfig['credentials'];
  let credentialSource: S3SinkConfig['credentialSource'];
  if (accessKey !== null || secretKey !== null) {
    if (accessKey === null) throw invalid(url, 'the query parameter "access_key"', 'is missing (secret_key is given)');
    if (secretKey === null) throw invalid(url, 'the query parameter "secret_key"', 'is missing (access_key is given)');
    credentials = { accessKeyId: accessKey, secretAccessKey: secretKey };
    credentialSource = 'url';
  } else {
    const id = env.AWS_ACCESS_KEY_ID;
    const secret = env.AWS_SECRET_ACCESS_KEY;
    if (!id || !secret) {
      throw invalid(url, 'the credentials', 'are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (or, for tests, access_key and secret_key query parameters)');
    }
    credentials = { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
    credentialSource = 'env';
  }

  return { bucket, prefix, endpoint, region, credentials, credentialSource, redactedUrl: redactSinkUrl(url) };
}

// ---- errors --------------------------------------------------------------------------------

/** S3 error codes that mean "try again later" whatever their HTTP status */
const TEMPORARY_S3_CODES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException',
  'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'BandwidthLimitExceeded',
  'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeoutException', 'PriorRequestNotComplete',
  'OperationAborted',
]);
/** the body arrived damaged or cut short (the service checked x-amz-content-sha256 or Content-Length): nothing was stored */
const TRANSFER_S3_CODES = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'IncompleteBody']);
const PERMISSION_S3_CODES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired',
  'AccountProblem', 'AllAccessDisabled', 'InvalidSecurity', 'Forbidden', 'Unauthorized', 'InvalidClientTokenId',
]);
/** errors of the network or the socket (no HTTP answer) */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENETRESET',
  'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'EADDRNOTAVAIL', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

function isNetworkError(err: unknown, depth = 0): boolean {
  const e = err as ErrorLike | null;
  if (!e || typeof e !== 'object' || depth > 3) return false;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && NETWORK_NAMES.has(e.name)) return true;
  if (typeof e.message === 'string' && /socket hang up|ECONNREFUSED|ECONNRESET/i.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isNetworkError(x, depth + 1))) return true; // AggregateError (happy eyeballs)
  const cause = (e as { cause?: unknown }).cause;
  return cause !== undefined && isNetworkError(cause, depth + 1);
}

function httpStatusOf(err: unknown): number | undefined {
  const e = err as ErrorLike | null;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode ?? undefined;
}

function s3CodeOf(err: unknown): string {
  const e = err as ErrorLike | null;
  if (typeof e?.Code === 'string') return e.Code;
  return typeof e?.name === 'string' ? e.name : 'Error';
}

export interface SinkErrorContext {
  /** e.g. "s3://bucket/prefix at http://127.0.0.1:8080" */
  sink: string;
  bucket: string;
  op: 'head' | 'put' | 'get' | 'list' | 'check bucket';
  key?: string;
  accessKeyId?: string;
}

/**
 * One place that maps an S3 SDK or network error to a ferry error:
 * unreachable, timing out, 5xx, throttled → TemporaryError SINK_UNAVAILABLE;
 * 401/403, bad keys or signature → PermanentError SINK_PERMISSION;
 * NoSuchBucket → PermanentError SINK_NO_BUCKET; a body the service found damaged or short
 * (BadDigest, XAmzContentSHA256Mismatch, IncompleteBody) → TemporaryError SINK_TRANSFER_FAILED;
 * any other HTTP answer → PermanentError SINK_REJECTED;
 * anything else (no HTTP status, not a known network error) → TemporaryError SINK_UNEXPECTED. Pure.
 */
export function toSinkError(err: unknown, ctx: SinkErrorContext): FerryError {
  if (err instanceof FerryError) return err;
  const what = `${ctx.op}${ctx.key !== undefined ? ` of ${JSON.stringify(ctx.key)}` : ''}`;
  const status = httpStatusOf(err);
  const code = s3CodeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const details = { op: ctx.op, key: ctx.key, bucket: ctx.bucket, status, s3Code: code };
  const opts = (c: string) => ({ cause: err, code: c, details });
  if (status !== undefined) {
    if (TEMPORARY_S3_CODES.has(code) || status >= 500 || status === 429 || status === 408) {
      return new TemporaryError(`S3 sink ${ctx.sink} is unavailable: ${what} failed with ${code} (HTTP ${status}); retry after a backoff`, opts('SINK_UNAVAILABLE'));
    }
    if (TRANSFER_S3_CODES.has(code)) {
      // the body was checked before it left (a Buffer) or as it left (a stream): damaged on the way
      return new TemporaryError(`S3 sink ${ctx.sink}: ${what} failed with ${code} (HTTP ${status}): the body arrived damaged or incomplete and was not stored; retry`, opts('SINK_TRANSFER_FAILED'));
    }
    if (code === 'NoSuchBucket' || (ctx.op === 'check bucket' && status === 404)) {
      return new PermanentError(`S3 sink ${ctx.sink}: the bucket "${ctx.bucket}" does not exist: create it (for example \`aws s3 mb s3://${ctx.bucket}\`, with --endpoint-url for a non-AWS service); ferry does not create buckets`, opts('SINK_NO_BUCKET'));
    }
    if (PERMISSION_S3_CODES.has(code) || status === 401 || status === 403) {
      const who = ctx.accessKeyId ? ` for access key ${JSON.stringify(ctx.accessKeyId)}` : '';
      return new PermanentError(`S3 sink ${ctx.sink} refused ${what}: ${code} (HTTP ${status}): check the credentials${who} and their permissions on bucket "${ctx.bucket}"`, opts('SINK_PERMISSION'));
    }
    return new PermanentError(`S3 sink ${ctx.sink} rejected ${what}: ${code} (HTTP ${status}): ${message}`, opts('SINK_REJECTED'));
  }
  if (isNetworkError(err)) {
    return new TemporaryError(`S3 sink ${ctx.sink} is unavailable: ${what} failed: ${message}; retry after a backoff`, opts('SINK_UNAVAILABLE'));
  }
  return new TemporaryError(`S3 sink ${ctx.sink}: ${what} failed: ${message}`, opts('SINK_UNEXPECTED'));
}

function isNotFound(err: unknown): boolean {
  const code = s3CodeOf(err);
  return httpStatusOf(err) === 404 && (code === 'NotFound' || code === 'NoSuchKey');
}

// ---- clients -------------------------------------------------------------------------------

type S3Sdk = typeof import('@aws-sdk/client-s3');

// loaded on first use: the SDK is a good part of ferry's start time, and most commands never touch S3
let sdkLoading: Promise<S3Sdk> | undefined;
const loadSdk = (): Promise<S3Sdk> => (sdkLoading ??= import('@aws-sdk/client-s3'));

interface ClientEntry {
  sdk: S3Sdk;
  client: S3Client;
  /** buckets seen to exist through this client (a HEAD 404 does not tell a missing bucket from a missing key) */
  buckets: Set<string>;
}

const SILENT_LOGGER = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Clients by endpoint, region and credentials: sinks opened once per entry share connections. */
const clients = new Map<string, ClientEntry>();
const MAX_CLIENTS = 32;

async function clientFor(cfg: S3SinkConfig): Promise<ClientEntry> {
  const sdk = await loadSdk();
  const secretHash = createHash('sha256').update(`${cfg.credentials.secretAccessKey}\0${cfg.credentials.sessionToken ?? ''}`).digest('hex');
  const id = JSON.stringify([cfg.endpoint ?? '', cfg.region, cfg.credentials.accessKeyId, secretHash]);
  let entry = clients.get(id);
  if (!entry) {
    entry = {
      sdk,
      client: new sdk.S3Client({
        region: cfg.region,
        ...(cfg.endpoint ? { endpoint: cfg.endpoint, forcePathStyle: true } : {}),
        credentials: cfg.credentials,
        maxAttempts: MAX_ATTEMPTS,
        requestHandler: {
          connectionTimeout: CONNECT_TIMEOUT_MS,
          requestTimeout: REQUEST_TIMEOUT_MS,
          throwOnRequestTimeout: true,
          socketTimeout: SOCKET_IDLE_TIMEOUT_MS,
        },
        // S3-compatible services (Swift) refuse the SDK's default aws-chunked checksum trailers
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // silent: errors reach the caller as ferry errors, and nothing the SDK logs can leak a secret
        logger: SILENT_LOGGER,
      }),
      buckets: new Set(),
    };
    if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value as string);
    clients.set(id, entry);
  }
  return entry;
}

// ---- streams -------------------------------------------------------------------------------

/**
 * Passes bytes through while checking them against a declared size and sha256. The last chunk is
 * held back until the whole body has been checked, so a reader (an HTTP upload with a fixed
 * Content-Length, a restore) never receives a complete but wrong body: it gets an error instead.
 */
function verifying(expected: { size: number; sha256: string }, mismatch: (problem: string) => Error): Transform {
  const hash = createHash('sha256');
  let total = 0;
  let held: Buffer | null = null;
  return new Transform({
    transform(chunk: Buffer | string, _enc, cb) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      total += buf.length;
      if (total > expected.size) {
        cb(mismatch(`it has more than the declared ${expected.size} bytes`));
        return;
      }
      hash.update(buf);
      const prev = held;
      held = buf;
      cb(null, prev ?? undefined);
    },
    flush(cb) {
      if (total !== expected.size) {
        cb(mismatch(`it has ${total} bytes, not the declared ${expected.size}`));
        return;
      }
      const actual = hash.digest('hex');
      if (actual !== expected.sha256) {
        cb(mismatch(`its sha256 is ${actual}, not the declared ${expected.sha256}`));
        return;
      }
      cb(null, held ?? undefined);
    },
  });
}

function sha256Hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

function abortErrorOf(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('the operation was aborted'), { name: 'AbortError' });
}

// ---- the sink ------------------------------------------------------------------------------

const SHA256_HEX = /^[0-9a-f]{64}$/;

function checkKey(key: string, what: 'key' | 'prefix'): void {
  const bad = (problem: string): InvalidArgumentError =>
    new InvalidArgumentError(`invalid sink ${what} ${JSON.stringify(key)}: ${problem}`, { code: 'INVALID_KEY' });
  if (typeof key !== 'string') throw bad('not a string');
  if (what === 'key' && key === '') throw bad('empty');
  if (CONTROL.test(key)) throw bad('has control characters');
  if (key.startsWith('/')) throw bad('starts with "/"');
  const segments = key.split('/');
  if (what === 'prefix' && segments[segments.length - 1] === '') segments.pop(); // "a/b/" is a prefix
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') throw bad('has an empty, "." or ".." segment');
  }
}

export class S3Sink implements Sink {
  /** the sink URL with the secret key hidden */
  readonly url: string;
  /** bucket, prefix and endpoint: not the region or credentials, which can change while the objects stay */
  readonly location: string;
  private readonly label: string;
  private client: Promise<ClientEntry> | undefined;

  constructor(private readonly cfg: S3SinkConfig) {
    this.url = cfg.redactedUrl;
    this.location = `s3://${cfg.bucket}${cfg.prefix ? `/${cfg.prefix}` : ''}${cfg.endpoint ? `?endpoint=${cfg.endpoint}` : ''}`;
    this.label = `s3://${cfg.bucket}${cfg.prefix ? `/${cfg.prefix}` : ''}${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}`;
  }

  /** the shared client of this endpoint and credentials, made on first use */
  private entry(): Promise<ClientEntry> {
    return (this.client ??= clientFor(this.cfg));
  }

  private objectKey(key: string): string {
    return this.cfg.prefix ? `${this.cfg.prefix}/${key}` : key;
  }

  private fail(err: unknown, op: SinkErrorContext['op'], key: string | undefined, signal?: AbortSignal): unknown {
    if (signal?.aborted) return err; // the caller's abort is not the sink's failure
    return toSinkError(err, { sink: this.label, bucket: this.cfg.bucket, op, key, accessKeyId: this.cfg.credentials.accessKeyId });
  }

  /** A HEAD of a missing object and of an object in a missing bucket both answer 404: tell them apart once. */
  private async checkBucket(): Promise<void> {
    const { sdk, client, buckets } = await this.entry();
    if (buckets.has(this.cfg.bucket)) return;
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.cfg.bucket }));
    } catch (err) {
      throw this.fail(err, 'check bucket', undefined);
    }
    buckets.add(this.cfg.bucket);
  }

  async head(key: string, signal?: AbortSignal): Promise<SinkObjectInfo | null> {
    checkKey(key, 'key');
    const { sdk, client } = await this.entry();
    let r;
    try {
      r = await client.send(new sdk.HeadObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key) }), { abortSignal: signal });
    } catch (err) {
      if (isNotFound(err) && !signal?.aborted) {
        await this.checkBucket();
        return null;
      }
      throw this.fail(err, 'head', key, signal);
    }
    const size = Number(r.ContentLength ?? 0);
    let sha256 = r.Metadata?.sha256?.toLowerCase();
    if (!sha256 || !SHA256_HEX.test(sha256)) {
      // written by something else than ferry: hash the bytes (entries are small)
      const h = createHash('sha256');
      for await (const chunk of await this.get(key, signal)) h.update(chunk as Buffer);
      sha256 = h.digest('hex');
    }
    return { key, size, sha256 };
  }

  /**
   * Writes the object only if absent; returns the object found there, or null when this wrote it.
   * Without If-None-Match (Swift answers 501 to it) this is a HEAD then a PUT: two writers racing
   * on one key could both write; the archiver has one writer per partition. The payload's sha256 goes in x-amz-content-sha256, so the service itself refuses
   * a body that does not match (no object is created); a stream body is also checked here, its
   * last chunk held back until the check passed.
   */
  async put(key: string, body: Readable | Buffer, info: { sha256: string; size: number }, signal?: AbortSignal): Promise<SinkObjectInfo | null> {
    checkKey(key, 'key');
    if (!Number.isSafeInteger(info?.size) || info.size < 0) {
      throw new InvalidArgumentError(`invalid size ${String(info?.size)} for sink key ${JSON.stringify(key)}`, { code: 'INVALID_ARGUMENT' });
    }
    if (typeof info.sha256 !== 'string' || !SHA256_HEX.test(info.sha256)) {
      throw new InvalidArgumentError(`invalid sha256 ${JSON.stringify(info.sha256)} for sink key ${JSON.stringify(key)}: expected 64 lowercase hex digits`, { code: 'INVALID_ARGUMENT' });
    }
    const mismatch = (problem: string): PermanentError =>
      new PermanentError(`the body given for sink key ${JSON.stringify(key)} does not match its declared size and sha256: ${problem}; nothing was written`, {
        code: 'CHECKSUM_MISMATCH',
        details: { key, size: info.size, sha256: info.sha256 },
      });
    if (Buffer.isBuffer(body)) {
      if (body.length !== info.size) throw mismatch(`it has ${body.length} bytes, not the declared ${info.size}`);
      const actual = sha256Hex(body);
      if (actual !== info.sha256) throw mismatch(`its sha256 is ${actual}, not the declared ${info.sha256}`);
    }

    let existing: SinkObjectInfo | null;
    try {
      existing = await this.head(key, signal);
    } catch (err) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw err;
    }
    const { sdk, client } = await this.entry(); // made by the head above
    if (existing) {
      if (!Buffer.isBuffer(body)) body.destroy(); // never overwritten: the caller compares checksums
      return existing;
    }

    // A stream is checked on its way out, and a failure aborts the upload: S3 stores an object only
    // when the whole body has arrived, so a failed upload leaves nothing.
    const controller = new AbortController();
    let bodyError: unknown;
    let checked: Transform | null = null;
    if (!Buffer.isBuffer(body)) {
      if (signal?.aborted) {
        body.destroy();
        throw abortErrorOf(signal);
      }
      checked = verifying(info, mismatch);
      pipeline(body, checked, (err) => {
        if (err && bodyError === undefined) {
          bodyError = err;
          controller.abort(err);
        }
      });
    }
    const command = new sdk.PutObjectCommand({
      Bucket: this.cfg.bucket,
      Key: this.objectKey(key),
      Body: checked ?? body,
      ContentLength: info.size,
      ContentType: 'application/octet-stream',
      Metadata: { sha256: info.sha256 },
    });
    // the service verifies the payload against this (for a stream, instead of UNSIGNED-PAYLOAD)
    command.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers) req.headers['x-amz-content-sha256'] = info.sha256;
        return next(args);
      },
      { step: 'build', name: 'ferryPayloadSha256' },
    );
    const onCallerAbort = (): void => controller.abort(signal!.reason);
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    let done = false;
    try {
      await client.send(command, {
        abortSignal: checked ? controller.signal : signal,
        requestTimeout: REQUEST_TIMEOUT_MS + Math.ceil(info.size / 1_000_000) * 1_000,
      });
      done = true;
    } catch (err) {
      if (bodyError !== undefined) throw bodyError;
      throw this.fail(err, 'put', key, signal);
    } finally {
      signal?.removeEventListener('abort', onCallerAbort);
      if (!done) checked?.destroy();
    }
    return null;
  }

  /**
   * The object's bytes. Errors while streaming come as ferry errors on the stream; when the object
   * carries ferry's sha256, the bytes are checked (last chunk held back) and a mismatch errors the
   * stream with PermanentError CHECKSUM_MISMATCH.
   */
  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    checkKey(key, 'key');
    const { sdk, client } = await this.entry();
    let r;
    try {
      r = await client.send(new sdk.GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key) }), { abortSignal: signal });
    } catch (err) {
      if (isNotFound(err) && !signal?.aborted) {
        throw new PermanentError(`S3 sink ${this.label} has no object ${JSON.stringify(key)}`, { code: 'NOT_FOUND', cause: err, details: { key } });
      }
      throw this.fail(err, 'get', key, signal);
    }
    const body = r.Body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') {
      throw new TemporaryError(`S3 sink ${this.label}: get of ${JSON.stringify(key)} returned no readable body`, { code: 'SINK_UNEXPECTED' });
    }
    const sha256 = r.Metadata?.sha256?.toLowerCase();
    const out: Transform | PassThrough = sha256 && SHA256_HEX.test(sha256) && r.ContentLength !== undefined
      ? verifying({ size: Number(r.ContentLength), sha256 }, (problem) => new PermanentError(
        `object ${JSON.stringify(key)} in S3 sink ${this.label} is corrupt: ${problem} (its stored sha256 metadata)`,
        { code: 'CHECKSUM_MISMATCH', details: { key } },
      ))
      : new PassThrough();
    body.once('error', (err) => out.destroy(this.fail(err, 'get', key, signal) as Error));
    out.once('close', () => {
      if (!body.readableEnded) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  /** Keys under `prefix` (a plain string prefix, as in S3: pass "a/b/" for the keys in "a/b"), sorted, without the sink's own prefix. */
  async list(prefix: string): Promise<string[]> {
    checkKey(prefix, 'prefix');
    const root = this.cfg.prefix ? `${this.cfg.prefix}/` : '';
    const { sdk, client, buckets } = await this.entry();
    const keys: string[] = [];
    let token: string | undefined;
    for (;;) {
      let r;
      try {
        r = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: root + prefix, ContinuationToken: token }));
      } catch (err) {
        throw this.fail(err, 'list', prefix);
      }
      for (const o of r.Contents ?? []) {
        if (o.Key !== undefined && o.Key.startsWith(root)) keys.push(o.Key.slice(root.length));
      }
      if (!r.IsTruncated) break;
      if (!r.NextContinuationToken || r.NextContinuationToken === token) {
        throw new TemporaryError(`S3 sink ${this.label}: list of ${JSON.stringify(prefix)} is truncated without a continuation token`, { code: 'SINK_UNEXPECTED' });
      }
      token = r.NextContinuationToken;
    }
    buckets.add(this.cfg.bucket);
    return keys.sort();
  }
}

/** Opens an s3:// sink; throws InvalidArgumentError (code INVALID_SINK_URL) naming the bad part of the URL. */
export function createS3Sink(url: string): Sink {
  return new S3Sink(parseS3SinkUrl(url));
}
