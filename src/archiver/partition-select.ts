import type { Engine } from '../engine/engine.js';
import { InvalidArgumentError, PermanentError, invalidField } from '../errors/index.js';
import { partitionStatusesOf, type PartitionStatus } from './coordinator.js';
import { openLogSource } from './open-log-source.js';
import { openSink } from './sinks/index.js';

/**
 * Which archiver of a partition: one machine per (log, sink, consumer) archives it, so the storage
 * and partition names may not be enough. Each given field narrows the choice.
 */
export interface PartitionSelector {
  storage: string;
  partition: string;
  consumer?: string;
  /** compared by the sink's location: the credentials in the URL do not matter */
  sink?: string;
  /** compared after normalizing, as `ferry archive --log` does (an absolute path or grpc://HOST:PORT) */
  log?: string;
}

/** The location of a sink URL, or null when it does not parse (a machine's, from an older ferry). */
function locationOf(url: string): string | null {
  try {
    return openSink(url).location;
  } catch {
    return null;
  }
}

function describe(s: PartitionSelector): string {
  const by = [s.consumer && `as consumer ${s.consumer}`, s.sink && `into ${s.sink}`, s.log && `from ${s.log}`].filter(Boolean);
  return `${s.storage}/${s.partition}${by.length ? ` archived ${by.join(' ')}` : ''}`;
}

/**
 * The one archiver `sel` names. None: InvalidArgumentError NOT_FOUND; several: InvalidArgumentError
 * naming the field `consumer` and listing them, so the caller can pick one. A bad sink or log is
 * INVALID_ARGUMENT naming it before anything is read.
 */
export async function selectPartition(engine: Engine, sel: PartitionSelector): Promise<PartitionStatus> {
  const sinkLocation = sel.sink ? locationOf(sel.sink) : null;
  if (sel.sink && sinkLocation === null) throw invalidField('sink', `${JSON.stringify(sel.sink)} is not a sink URL: file:///abs/path or s3://bucket/prefix?endpoint=URL`);
  let log: string | null = null;
  if (sel.log) {
    try {
      log = openLogSource(sel.log).root;
    } catch (err) {
      throw invalidField('log', (err as Error).message);
    }
  }
  const matching = (await partitionStatusesOf(engine, sel.storage, sel.partition)).filter((s) =>
    (!sel.consumer || s.consumer === sel.consumer)
    && (sinkLocation === null || locationOf(s.sink) === sinkLocation)
    && (log === null || s.log === log));
  if (!matching.length) {
    throw new InvalidArgumentError(`no partition ${describe(sel)}; see \`ferry archive status\``, { code: 'NOT_FOUND' });
  }
  if (matching.length > 1) {
    const which = matching.map((s) => `consumer ${s.consumer} from ${s.log} into ${s.sink}`).join('; ');
    throw invalidField('consumer', `${sel.storage}/${sel.partition} is archived by ${matching.length} archivers (${which}): name one with its consumer (and its sink or log when they share a consumer)`);
  }
  return matching[0];
}

/** What a reset did: the machine it resumed and why it had failed. */
export interface PartitionReset {
  id: string;
  problem: string;
}

/**
 * Resumes a Failed partition archiver from the LSN it failed on, after a person removed the cause
 * (CHECKSUM_MISMATCH: the wrong object in the sink). It sends the machine `ferry.reset`, which only
 * Failed handles; an archiver in any other state is PermanentError NOT_FAILED and is left alone.
 */
export async function resetPartition(engine: Engine, sel: PartitionSelector): Promise<PartitionReset> {
  const s = await selectPartition(engine, sel);
  if (s.state !== 'Failed') {
    throw new PermanentError(`partition ${s.storage}/${s.partition} (consumer ${s.consumer}) is ${s.state}, not Failed: nothing to reset`, {
      code: 'NOT_FAILED',
      details: { id: s.id, state: s.state },
    });
  }
  await engine.send(s.id, { type: 'ferry.reset' });
  return { id: s.id, problem: s.problem ?? '' };
}
