import { randomBytes } from 'node:crypto';
import type { InitialReplicationPolicy, ReplicationInput } from '../../machines/replication.js';
import { DEFAULT_BACKOFF, type RetryPolicy } from '../../machines/retry.js';
import type { Engine } from '../engine/engine.js';
import { DEFAULT_EFFECT_CONCURRENCY, type MachineRecord } from '../engine/types.js';
import { InvalidArgumentError, withField } from '../errors/index.js';
import { assertSameKind, parseEndpoint } from '../storage/endpoint.js';
import { snapshotRegExp } from './planner.js';
import { checkSendOptions, type SendOptionsInput } from './send-options.js';
import { compactUtcStamp } from '../util/time.js';
import { DEFAULT_REPLICATION_CONCURRENCY } from '../../machines/replication-defaults.js';

export interface ReplicateOptions {
  sender: string;
  receiver: string;
  /** @defaultValue "most_recent" */
  initial?: InitialReplicationPolicy;
  /** filesystems replicating at once. @defaultValue 4 */
  concurrency?: number;
  filesystems?: string;
  includeSnapshots?: string;
  excludeSnapshots?: string;
  batch?: boolean;
  /** zfs send/receive flags and the bandwidth limit (docs/send-options.md) */
  send?: SendOptionsInput;
  retry?: Partial<RetryPolicy>;
  runId?: string;
}

export const DEFAULT_RETRY: RetryPolicy = { ...DEFAULT_BACKOFF, maxAttempts: 10 };
const POLICIES: InitialReplicationPolicy[] = ['most_recent', 'all', 'fail'];

/**
 * The effect slots of a process's workers when it runs a replication with this `concurrency`
 * (`ferry replicate`): every filesystem replicating at once is one step, one effect, so fewer
 * slots than filesystems would leave `--concurrency` above the workers' default without effect.
 */
export function effectConcurrencyFor(concurrency: number): number {
  return Math.max(DEFAULT_EFFECT_CONCURRENCY, concurrency);
}

export function newRunId(now = new Date()): string {
  return `run-${compactUtcStamp(now)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Checks a run request before anything starts; every problem names the flag in its message and the
 * field (sender, receiver, initial, concurrency, include_snapshots, exclude_snapshots) in `details.field`.
 */
export function validateReplicateOptions(o: ReplicateOptions): ReplicationInput {
  const s = withField('sender', () => parseEndpoint(o.sender));
  const r = withField('receiver', () => parseEndpoint(o.receiver));
  assertSameKind({ kind: s.kind, endpoint: o.sender }, { kind: r.kind, endpoint: o.receiver });
  if (s.location === r.location) throw new InvalidArgumentError('sender and receiver are the same endpoint', { code: 'SAME_ENDPOINT', details: { field: 'receiver' } });
  const initial = o.initial ?? 'most_recent';
  if (!POLICIES.includes(initial)) {
    throw new InvalidArgumentError(`--initial must be one of ${POLICIES.join(', ')}, not ${JSON.stringify(initial)}`, { code: 'INVALID_ARGUMENT', details: { field: 'initial' } });
  }
  const concurrency = o.concurrency ?? DEFAULT_REPLICATION_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    throw new InvalidArgumentError(`--concurrency must be an integer from 1 to 1000, not ${JSON.stringify(o.concurrency)}`, { code: 'INVALID_ARGUMENT', details: { field: 'concurrency' } });
  }
  snapshotRegExp('include_snapshots', o.includeSnapshots);
  snapshotRegExp('exclude_snapshots', o.excludeSnapshots);
  const send = checkSendOptions(o.send, s.kind);
  return {
    runId: o.runId ?? newRunId(), sender: o.sender, receiver: o.receiver, initial, concurrency,
    filesystems: o.filesystems, includeSnapshots: o.includeSnapshots, excludeSnapshots: o.excludeSnapshots, batch: o.batch,
    ...(send ? { send } : {}),
    retry: { ...DEFAULT_RETRY, ...o.retry },
  };
}

/** Starts one replication run through the engine; returns its id. */
export async function startReplication(engine: Engine, o: ReplicateOptions): Promise<string> {
  const input = validateReplicateOptions(o);
  await engine.start('replication', input.runId, input);
  return input.runId;
}

export function isFinished(r: MachineRecord | null): boolean {
  return !!r && r.status !== 'active';
}
