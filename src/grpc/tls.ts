import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../errors/index.js';

/**
 * TLS of a ferry gRPC server (`ferry agent`, `ferry serve`): no files is plaintext, cert + key is TLS,
 * and a client CA on top is mutual TLS (every client must present a certificate signed by it).
 */
export interface TlsServerOptions {
  /** PEM certificate chain the server presents (`--tls-cert`) */
  certFile?: string;
  /** PEM private key of that certificate (`--tls-key`) */
  keyFile?: string;
  /** PEM CA bundle client certificates must chain to (`--tls-client-ca`); turns on mutual TLS */
  clientCaFile?: string;
}

/** TLS of a client channel. The files name the variables they come from in clientTlsFromEnv. */
export interface ClientTlsOptions {
  /** false: plaintext (grpc://); true: TLS (grpcs://) */
  tls: boolean;
  /** PEM CA bundle the server's certificate must chain to; default: the system roots */
  caFile?: string;
  /** PEM client certificate for mutual TLS; needs keyFile */
  certFile?: string;
  keyFile?: string;
}

/** Where a file came from, for messages: a flag (`--tls-cert`) or an environment variable. */
type Source = string;

const TLS_ENV = { ca: 'FERRY_TLS_CA_FILE', cert: 'FERRY_TLS_CERT_FILE', key: 'FERRY_TLS_KEY_FILE' } as const;

function invalid(source: Source, file: string, problem: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${source} ${JSON.stringify(file)}: ${problem}`, { code: 'TLS_CONFIG', cause, details: { source, file } });
}

function readPem(file: string, source: Source): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw invalid(source, file, `cannot read it: ${(err as Error).message}`, err);
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle, each parsed; at least one. */
function readCertificates(file: string, source: Source): Buffer {
  const pem = readPem(file, source);
  const blocks = pem.toString('utf8').match(CERT_BLOCK) ?? [];
  if (!blocks.length) throw invalid(source, file, 'no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)');
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw invalid(source, file, `certificate ${i + 1} is not valid PEM: ${(err as Error).message}`, err);
    }
  }
  return pem;
}

function readKey(file: string, source: Source): Buffer {
  const pem = readPem(file, source);
  try {
    createPrivateKey(pem);
  } catch (err) {
    throw invalid(source, file, `not a valid PEM private key (an unencrypted one is needed): ${(err as Error).message}`, err);
  }
  return pem;
}

/** Reads and checks a certificate and its key: both parse and the key belongs to the certificate. */
function readKeyPair(certFile: string, keyFile: string, sources: { cert: Source; key: Source }): { cert: Buffer; key: Buffer } {
  const cert = readCertificates(certFile, sources.cert);
  const key = readKey(keyFile, sources.key);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw invalid(sources.key, keyFile, `does not match the certificate of ${sources.cert} ${JSON.stringify(certFile)}: ${(err as Error).message}`, err);
  }
  return { cert, key };
}

function bothOrNeither(cert: string | undefined, key: string | undefined, sources: { cert: Source; key: Source }): void {
  if (cert && !key) throw new InvalidArgumentError(`${sources.cert} needs ${sources.key}: the private key of the certificate`, { code: 'TLS_CONFIG' });
  if (key && !cert) throw new InvalidArgumentError(`${sources.key} needs ${sources.cert}: the certificate of the key`, { code: 'TLS_CONFIG' });
}

/** Whether these options turn TLS on (then the server's URLs are grpcs://). */
export function serverTlsEnabled(o: TlsServerOptions): boolean {
  return !!(o.certFile || o.keyFile || o.clientCaFile);
}

/**
 * Credentials of a ferry gRPC server: insecure without files, TLS with cert + key, mutual TLS with a
 * client CA (a client without a certificate signed by it is refused in the handshake). Files are read
 * and checked now, so a bad flag fails at startup with InvalidArgumentError naming it, not at the
 * first connection.
 */
export function serverCredentials(o: TlsServerOptions): grpc.ServerCredentials {
  const sources = { cert: '--tls-cert', key: '--tls-key' };
  if (!serverTlsEnabled(o)) return grpc.ServerCredentials.createInsecure();
  if (o.clientCaFile && !o.certFile && !o.keyFile) {
    throw new InvalidArgumentError('--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS with client certificates', { code: 'TLS_CONFIG' });
  }
  bothOrNeither(o.certFile, o.keyFile, sources);
  const { cert, key } = readKeyPair(o.certFile!, o.keyFile!, sources);
  const clientCa = o.clientCaFile ? readCertificates(o.clientCaFile, '--tls-client-ca') : null;
  return grpc.ServerCredentials.createSsl(clientCa, [{ cert_chain: cert, private_key: key }], clientCa !== null);
}

/** The client TLS files from FERRY_TLS_CA_FILE, FERRY_TLS_CERT_FILE and FERRY_TLS_KEY_FILE (empty means unset). */
export function clientTlsFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<ClientTlsOptions, 'tls'> {
  const pick = (name: string) => env[name] || undefined;
  const o = { caFile: pick(TLS_ENV.ca), certFile: pick(TLS_ENV.cert), keyFile: pick(TLS_ENV.key) };
  bothOrNeither(o.certFile, o.keyFile, { cert: TLS_ENV.cert, key: TLS_ENV.key });
  return o;
}

/**
 * Credentials of a client channel: insecure for `tls: false` (files ignored), else TLS verifying the
 * server against caFile (default: the system roots), with a client certificate when certFile and
 * keyFile are given. Messages name the FERRY_TLS_* variables, where these files come from.
 */
export function channelCredentials(o: ClientTlsOptions): grpc.ChannelCredentials {
  if (!o.tls) return grpc.credentials.createInsecure();
  const sources = { cert: TLS_ENV.cert, key: TLS_ENV.key };
  bothOrNeither(o.certFile, o.keyFile, sources);
  const ca = o.caFile ? readCertificates(o.caFile, TLS_ENV.ca) : null;
  const pair = o.certFile && o.keyFile ? readKeyPair(o.certFile, o.keyFile, sources) : null;
  return grpc.credentials.createSsl(ca, pair?.key ?? null, pair?.cert ?? null);
}

/** A connection failure that is about TLS, as the remote driver reports it. */
export interface TlsProblem {
  /** what failed, short: "wrong version number", "unable to verify the first certificate" */
  reason: string;
  /** what to check, naming the flags and variables involved */
  hint: string;
  /** true when the handshake itself reported a TLS error; false for a bare close that TLS likely explains */
  certain: boolean;
}

/**
 * The error of grpc-js's "No connection established. Last error: ...": whether OpenSSL reported it,
 * and its text without timestamps, error class prefixes and OpenSSL source paths.
 */
function lastConnectionError(details: string): { reason: string; openssl: boolean } {
  const s = (/Last error: ([\s\S]*?)(?:\s*\.?\s*Resolution note:[\s\S]*)?$/.exec(details)?.[1] ?? details)
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)\s*$/, '');
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(s);
  if (ssl) return { reason: ssl[1].trim(), openssl: true };
  return { reason: s.replace(/^Error(?: \[[A-Z_]+\])?: /, '').trim(), openssl: false };
}

const TLS_ERROR = /certificate|altnames|ERR_TLS|ERR_SSL/i;

function tlsHint(reason: string): string {
  if (/certificate required/i.test(reason)) return 'the agent requires a client certificate (--tls-client-ca): set FERRY_TLS_CERT_FILE and FERRY_TLS_KEY_FILE to one signed by that CA';
  if (/wrong version number|packet length too long|http request|unknown protocol/i.test(reason)) return 'the agent does not speak TLS: use grpc:// for an agent without --tls-cert';
  if (/unknown ca|bad certificate|certificate unknown|unsupported certificate/i.test(reason)) return "the agent refused the client certificate: FERRY_TLS_CERT_FILE must be signed by the CA of the agent's --tls-client-ca";
  if (/altname|does not match/i.test(reason)) return "the agent's certificate does not name the host of the URL: connect with a name or IP address in its subjectAltName";
  if (/expired|not yet valid/i.test(reason)) return 'a certificate is outside its validity period: renew it';
  if (/certificate|verify|issuer|self[- ]signed/i.test(reason)) return "the agent's certificate is not trusted: set FERRY_TLS_CA_FILE to the CA that signed the agent's --tls-cert (default: the system roots)";
  return "check the agent's --tls-cert/--tls-key/--tls-client-ca against FERRY_TLS_CA_FILE, FERRY_TLS_CERT_FILE and FERRY_TLS_KEY_FILE";
}

/**
 * Whether a failed connection (gRPC UNAVAILABLE "No connection established ...") is a TLS problem,
 * with a hint; null when it is not about TLS (an agent that is down). Pure. A server that refuses a
 * client certificate under TLS 1.3 may just close the connection; `tls` lets that close be explained.
 */
export function tlsProblem(details: string, tls: boolean): TlsProblem | null {
  if (!/No connection established/.test(details)) return null;
  const { reason, openssl } = lastConnectionError(details);
  if (openssl || TLS_ERROR.test(reason)) return { reason, hint: tlsHint(reason), certain: true };
  // a close or reset before HTTP/2 started (not a refused connection: the agent is up)
  if (/^Failed to connect$|ECONNRESET|socket hang up/.test(reason)) {
    return tls
      ? { reason: 'the agent closed the connection during the TLS handshake', hint: 'if it requires client certificates (--tls-client-ca), set FERRY_TLS_CERT_FILE and FERRY_TLS_KEY_FILE to one signed by that CA', certain: false }
      : { reason: 'the agent closed the connection before gRPC started', hint: 'if it serves TLS (--tls-cert), use grpcs://', certain: false };
  }
  return null;
}
