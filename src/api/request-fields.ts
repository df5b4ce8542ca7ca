import { logNameProblem, type LogNameKind } from '../archiver/log-source/names.js';
import { isRemoteLogSource } from '../archiver/open-log-source.js';
import { isAbsolute } from 'node:path';
import type { PartitionSelector } from '../archiver/partition-select.js';
import { invalidField, quote } from '../errors/index.js';
import { jobNameProblem } from '../jobs/spec.js';
import type { StorageDriver } from '../storage/driver.js';
import { nameProblem } from '../storage/names.js';
import { zfsNameProblem } from '../storage/zfs/names.js';
import { watchKindsProblem, type WatchFilter } from '../service/views.js';

/**
 * The checks of request fields at the edge of both gRPC servers, before anything is looked up:
 * each refusal is an InvalidArgumentError (INVALID_ARGUMENT) naming the field, quoting at most a
 * short prefix of what was sent. Each kind of name is checked by the validator of the layer that
 * owns it (storage/names, storage/zfs/names, archiver/log-source/names, jobs/spec); this file only
 * picks the one for the field, and bounds everything else (free text, repeated fields, integers).
 */

/** Longest free text (an endpoint, a log root, a sink URL, a glob) a request may carry. */
export const MAX_TEXT_CHARS = 4096;
/** Most items of a repeated field (filesystems of a snapshot, machine ids of a watch). */
export const MAX_ITEMS = 1000;

type DriverKind = StorageDriver['kind'];

const CONTROL = /[\u0000-\u001f\u007f]/;

/** A string field: present (unless `optional`), at most `max` characters, no control characters (NUL, newline...). */
export function textField(value: unknown, field: string, o: { max?: number; optional?: boolean } = {}): string {
  const max = o.max ?? MAX_TEXT_CHARS;
  if (value === undefined || value === null || value === '') {
    if (o.optional) return '';
    throw invalidField(field, 'required');
  }
  if (typeof value !== 'string') throw invalidField(field, `must be a string, not ${typeof value}`);
  if (value.length > max) throw invalidField(field, `must be at most ${max} characters, not ${value.length}: ${quote(value, 40)}`);
  const control = CONTROL.exec(value);
  if (control) throw invalidField(field, `must not contain control characters (${JSON.stringify(control[0])} at ${control.index}): ${quote(value)}`);
  return value;
}

/**
 * A log root sent to the orchestrator: an agent's `grpc://HOST:PORT` or an absolute path on the
 * orchestrator's host. A relative path would be resolved against the server's working directory,
 * which the caller neither sees nor chooses.
 */
export function logRootField(value: unknown, field = 'log'): string {
  const log = textField(value, field);
  if (!isRemoteLogSource(log) && !isAbsolute(log)) throw invalidField(field, `must be an absolute path or grpc://HOST:PORT, not ${quote(log)}`);
  return log;
}

/** A repeated string field: at most `max` items, each a textField named `field[i]`. */
export function textList(values: unknown, field: string, o: { max?: number; maxChars?: number } = {}): string[] {
  const list = values ?? [];
  if (!Array.isArray(list)) throw invalidField(field, 'must be a list');
  const max = o.max ?? MAX_ITEMS;
  if (list.length > max) throw invalidField(field, `at most ${max} items, not ${list.length}`);
  return list.map((v, i) => textField(v, `${field}[${i}]`, { max: o.maxChars }));
}

function nameOf(kind: DriverKind, role: 'filesystem' | 'snapshot', value: unknown, field: string): string {
  const problem = kind === 'zfs' ? zfsNameProblem(role, value) : nameProblem(value);
  if (problem !== null) throw invalidField(field, `invalid ${role} name ${quote(value)}: ${problem}`);
  return value as string;
}

/**
 * A filesystem name of a driver of `kind` (dir and btrfs: one path component; zfs: a dataset path
 * under the endpoint). On zfs "" names the endpoint's own dataset, where the calls that take it allow it.
 */
export function filesystemField(kind: DriverKind, value: unknown, field: string, o: { allowRoot?: boolean } = {}): string {
  if (value === undefined || value === '') {
    if (o.allowRoot && kind === 'zfs') return '';
    throw invalidField(field, 'required');
  }
  return nameOf(kind, 'filesystem', value, field);
}

/** A snapshot name (the part after '@') of a driver of `kind`. */
export function snapshotField(kind: DriverKind, value: unknown, field: string): string {
  if (value === undefined || value === '') throw invalidField(field, 'required');
  return nameOf(kind, 'snapshot', value, field);
}

/** A storage, partition or consumer name of a log source. */
export function logNameField(value: unknown, field: LogNameKind | string): string {
  if (value === undefined || value === '') throw invalidField(field, 'required');
  const problem = logNameProblem(value);
  if (problem !== null) throw invalidField(field, `${quote(value)} ${problem}`);
  return value as string;
}

/** A job name. */
export function jobNameField(value: unknown, field = 'name'): string {
  if (value === undefined || value === '') throw invalidField(field, 'required');
  const problem = jobNameProblem(value);
  if (problem !== null) throw invalidField(field, problem);
  return value as string;
}

/** A job signal (what it means is jobs/signals' to say): short text, in any case. */
export function signalField(value: unknown, field = 'signal'): string {
  return textField(value, field, { max: 32 }).toLowerCase();
}

/** Run ids: `run-<UTC stamp>-<hex>` (replications) and `<job>.<UTC stamp>` (job invocations). */
const RUN_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/** A run id (what GetRun takes): letters, digits, '_', '.', ':' and '-', at most 200. */
export function runIdField(value: unknown, field = 'id'): string {
  if (value === undefined || value === '') throw invalidField(field, 'required');
  if (typeof value !== 'string' || !RUN_ID.test(value)) {
    throw invalidField(field, `${quote(value)} is not a run id: at most 200 letters, digits, '_', '.', ':' or '-' (see \`ferry status\`)`);
  }
  return value;
}

/**
 * An integer field (int64/uint64 arrive as numbers, proto3 sends 0 as absent): a safe integer
 * (|n| <= 2^53 - 1: larger ones lost their low digits on the way) of at least `min`.
 */
export function integerField(value: unknown, field: string, min = 0): number {
  const n = value ?? 0;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
    throw invalidField(field, `must be an integer >= ${min} (and at most 2^53 - 1), not ${typeof value === 'number' ? String(value) : quote(value ?? 'absent', 40)}`);
  }
  return n;
}

/** GetPartition's and ResetPartition's selection of one archiver (and the live view's reset): names by the log source's rules, sink and log as free text. */
export function partitionSelectorField(req: { storage?: unknown; partition?: unknown; consumer?: unknown; sink?: unknown; log?: unknown }): PartitionSelector {
  return {
    storage: logNameField(req.storage, 'storage'),
    partition: logNameField(req.partition, 'partition'),
    ...(req.consumer ? { consumer: logNameField(req.consumer, 'consumer') } : {}),
    ...(req.sink ? { sink: textField(req.sink, 'sink') } : {}),
    ...(req.log ? { log: textField(req.log, 'log') } : {}),
  };
}

/** Redis stream ids, as a watch takes them back */
const STREAM_ID = /^\d+(-\d+)?$/;

/**
 * A watch of the transition log (WatchTransitions, the live view's /api/events): where it starts
 * (a stream id, or "" for now) and its kinds and machine ids, each checked under the name the
 * caller's protocol gives the field.
 */
export function watchFilterField(
  req: { afterId?: unknown; kinds?: unknown[] | null; machineIds?: unknown[] | null },
  names: { afterId: string; kinds: string; machineIds: string } = { afterId: 'after_id', kinds: 'kinds', machineIds: 'machine_ids' },
): Required<WatchFilter> {
  const afterId = textField(req.afterId, names.afterId, { optional: true, max: 64 });
  if (afterId && !STREAM_ID.test(afterId)) throw invalidField(names.afterId, `${quote(afterId)} is not an event id (digits, or digits-digits as events carry them)`);
  const kinds = textList((req.kinds ?? []).filter(Boolean), names.kinds, { max: 32, maxChars: 64 });
  const kindsProblem = watchKindsProblem(kinds);
  if (kindsProblem !== null) throw invalidField(names.kinds, kindsProblem);
  const machineIds = textList((req.machineIds ?? []).filter(Boolean), names.machineIds, { maxChars: 512 });
  return { kinds, machineIds, afterId };
}
