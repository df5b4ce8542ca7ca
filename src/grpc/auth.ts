import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, PermanentError } from '../errors/index.js';

/** Reads a token file: its content with surrounding whitespace trimmed; an empty file is refused. */
export function readTokenFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(path)}: cannot read it: ${(err as Error).message}`, { code: 'TOKEN_FILE', cause: err });
  }
  const token = text.trim();
  if (!token) throw new InvalidArgumentError(`${what} ${JSON.stringify(path)} is empty: put the shared token in it`, { code: 'TOKEN_FILE' });
  if (/[\r\n]/.test(token)) throw new InvalidArgumentError(`${what} ${JSON.stringify(path)}: the token must be one line`, { code: 'TOKEN_FILE' });
  return token;
}

/** The token remote endpoints and log sources send: the file named by FERRY_TOKEN_FILE. */
export function clientToken(env: NodeJS.ProcessEnv = process.env): string {
  const file = env.FERRY_TOKEN_FILE;
  if (!file) {
    throw new PermanentError('a grpc:// endpoint or log source needs a token: set FERRY_TOKEN_FILE to a file holding the token of `ferry agent --token-file`', { code: 'TOKEN_MISSING' });
  }
  return readTokenFile(file, 'FERRY_TOKEN_FILE');
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether an `authorization` metadata value carries `token` as a Bearer token. Compares digests in
 * constant time, so neither the token's content nor its length leaks through timing.
 */
export function bearerMatches(header: unknown, token: string): boolean {
  const value = typeof header === 'string' ? header : Buffer.isBuffer(header) ? header.toString('utf8') : '';
  const m = /^Bearer ([^\s].*)$/i.exec(value.trim());
  const given = m ? m[1].trim() : '';
  // always compare, also when the header is missing, so the two cases take the same time
  const equal = timingSafeEqual(digest(given), digest(token));
  return equal && m !== null;
}
