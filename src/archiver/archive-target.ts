import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors/index.js';
import { logNameProblem } from './log-source/names.js';
import { openSink } from './sinks/index.js';

/**
 * What one archiver archives: every partition of one log source into one sink, acknowledging as
 * one consumer. The three together are a partition machine's identity (with storage and
 * partition): another sink, log root or consumer is another machine, with its own position.
 */
export interface ArchiveTargetIdentity {
  /** the log source's normalized root: an absolute path or grpc://HOST:PORT */
  log: string;
  /** the sink URL as given (the machines open it) */
  sink: string;
  /** the sink's location (`Sink.location`): no credentials, so rotating a key keeps the identity */
  sinkLocation: string;
  /** the consumer name in the log source's positions */
  consumer: string;
  /** digest of (log, sinkLocation, consumer): the `<target>` of `wal.<target>.<storage>.<partition>` */
  key: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The consumer an archiver uses when none is given: derived from the sink's location, so two
 * sinks on one log have two positions and each gets every entry. Readable, then a digest:
 * `file:///srv/wal` → `file-srv-wal-<10 hex>`. Validates the URL.
 */
export function defaultConsumer(sinkUrl: string): string {
  return consumerOfLocation(openSink(sinkUrl).location);
}

function consumerOfLocation(sinkLocation: string): string {
  const readable = sinkLocation.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60).replace(/-+$/, '');
  return `${readable || 'sink'}-${sha256(sinkLocation).slice(0, 10)}`;
}

/** A consumer name as an operator gives it: the log source's name rules (InvalidArgumentError naming `field`). */
export function assertConsumerName(value: unknown, field = '--consumer'): asserts value is string {
  const problem = logNameProblem(value);
  if (problem !== null) {
    throw new InvalidArgumentError(`invalid ${field} ${JSON.stringify(value)}: ${problem}`, {
      code: 'INVALID_CONSUMER',
      details: { field, value: String(value) },
    });
  }
}

/**
 * The identity of archiving `log` (already normalized) into `sink` as `consumer` (default:
 * derived from the sink). Validates the sink URL and the consumer name.
 */
export function archiveTargetIdentity(log: string, sink: string, consumer?: string): ArchiveTargetIdentity {
  const sinkLocation = openSink(sink).location;
  const name = consumer ?? consumerOfLocation(sinkLocation);
  assertConsumerName(name);
  const key = sha256(`${log}\n${sinkLocation}\n${name}`).slice(0, 12);
  return { log, sink, sinkLocation, consumer: name, key };
}
