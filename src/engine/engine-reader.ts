import type { ChainableCommander, Redis } from 'ioredis';
import { topScored } from '../util/redis.js';
import { makeKeys, type Keys } from './keys.js';
import { TransitionLog } from './transition-log.js';
import type { ChildEntry, MachineRecord, Stat } from './types.js';

const JSON_FIELDS = new Set(['value', 'snapshot', 'children', 'timers', 'spawned']);

export function decodeRecord(flat: string[]): MachineRecord | null {
  if (!flat.length) return null;
  const h: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) h[flat[i]] = flat[i + 1];
  return decodeHash(h);
}

export function decodeHash(h: Record<string, string>): MachineRecord | null {
  if (!h.version) return null;
  const progress: MachineRecord['progress'] = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('progress:')) progress[k.slice(9)] = JSON.parse(v);
  const parse = (k: string, d: unknown) => (h[k] && JSON_FIELDS.has(k) ? JSON.parse(h[k]) : d);
  return {
    kind: h.kind, id: h.id, parent: h.parent || null, parentChildId: h.parentChildId || null, parentKey: h.parentKey || null,
    version: Number(h.version), defVersion: h.defVersion, status: h.status as MachineRecord['status'],
    value: parse('value', null), snapshot: parse('snapshot', undefined), children: parse('children', {}), timers: parse('timers', {}),
    spawned: parse('spawned', []), stateSince: Number(h.stateSince ?? 0), createdAt: Number(h.createdAt ?? 0), progress,
  };
}

/** What a list of machines shows of each: its record without the snapshot, children, timers and progress. */
export type MachineSummary = Pick<MachineRecord, 'kind' | 'id' | 'parent' | 'status' | 'value' | 'stateSince' | 'createdAt'>;
const SUMMARY_FIELDS = ['version', 'kind', 'id', 'parent', 'status', 'value', 'stateSince', 'createdAt'] as const;

/** A machine as its record holds it: the persisted snapshot's value, context and output. */
export interface MachineSnapshotView {
  record: MachineRecord;
  value: unknown;
  // the context's type is the machine kind's, which the caller knows
  context: any;
  output: unknown;
  status: string;
}

/**
 * The engine's reads: machine records, the index of top-level machines by kind (the runs), the
 * durable stats and the transition log, with plain Redis commands on the caller's connection. It
 * needs no BullMQ, no Lua scripts and no machine definitions, so a command that only reads
 * (`ferry status`) opens this instead of the Engine; the Engine reads through it too (its store
 * extends it), so there is one implementation of each read.
 */
export class EngineReader {
  readonly keys: Keys;
  /** the transition log, to read and follow */
  readonly transitions: TransitionLog;

  /** `keys` or a prefix (`--key-prefix`, default "ferry"); `transitions`: the log as the engine confirms it (none: entries as read). */
  constructor(protected readonly redis: Redis, keys: Keys | string = 'ferry', transitions?: TransitionLog) {
    this.keys = typeof keys === 'string' ? makeKeys(keys) : keys;
    this.transitions = transitions ?? new TransitionLog(redis, this.keys.transitions);
  }

  async get(id: string): Promise<MachineRecord | null> {
    return decodeHash(await this.redis.hgetall(this.keys.record(id)));
  }

  /** the machine's snapshot context and value, as persisted (null: no such machine) */
  async snapshotOf(id: string): Promise<MachineSnapshotView | null> {
    const record = await this.get(id);
    if (!record) return null;
    const snap = record.snapshot as { value: unknown; context: unknown; output?: unknown } | undefined;
    return { record, value: snap?.value, context: snap?.context, output: snap?.output, status: record.status };
  }

  /** the machine's registry of running children, or null when the machine does not exist */
  async children(id: string): Promise<Record<string, ChildEntry> | null> {
    const raw = await this.redis.hget(this.keys.record(id), 'children');
    return raw ? (JSON.parse(raw) as Record<string, ChildEntry>) : null;
  }

  /** each machine's status, in the order of `ids` (null: no such machine); one round trip */
  async statuses(ids: string[]): Promise<Array<MachineRecord['status'] | null>> {
    return this.eachRecord(ids, (p, key) => p.hget(key, 'status'), (status) => (status ? (status as MachineRecord['status']) : null));
  }

  /** each machine's summary (the fields of a list), in the order of `ids` (null: no such machine); one round trip */
  async summaries(ids: string[]): Promise<Array<MachineSummary | null>> {
    return this.eachRecord(ids, (p, key) => p.hmget(key, ...SUMMARY_FIELDS), (values) => {
      const h: Record<string, string> = {};
      SUMMARY_FIELDS.forEach((f, i) => { const v = (values as Array<string | null>)[i]; if (v !== null) h[f] = v; });
      const rec = decodeHash(h);
      return rec && { kind: rec.kind, id: rec.id, parent: rec.parent, status: rec.status, value: rec.value, stateSince: rec.stateSince, createdAt: rec.createdAt };
    });
  }

  /** one command per machine record, all in one pipeline; each reply decoded, null where its command failed */
  private async eachRecord<T>(ids: string[], command: (p: ChainableCommander, key: string) => void, decode: (reply: unknown) => T | null): Promise<Array<T | null>> {
    if (!ids.length) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) command(pipeline, this.keys.record(id));
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((_, i) => {
      const [err, reply] = replies[i] ?? [null, null];
      return err ? null : decode(reply);
    });
  }

  /** top-level machines of a kind, newest first */
  async list(kind: string, limit = 50): Promise<string[]> {
    return (await this.listWithTimes(kind, limit)).map(([id]) => id);
  }

  /** top-level machines of a kind, newest first, with their creation times (ms since epoch) */
  async listWithTimes(kind: string, limit = 50): Promise<Array<[id: string, createdAt: number]>> {
    return topScored(this.redis, this.keys.index(kind), limit);
  }

  /** every durable number the commits changed (fields that do not parse are skipped) */
  async stats(): Promise<Stat[]> {
    const out: Stat[] = [];
    for (const [field, raw] of Object.entries(await this.redis.hgetall(this.keys.stats))) {
      try {
        const [name, labels] = JSON.parse(field) as [string, Record<string, string>];
        const value = Number(raw);
        if (typeof name === 'string' && labels && typeof labels === 'object' && Number.isFinite(value)) out.push({ name, labels, value });
      } catch {
        // not a field this version wrote
      }
    }
    return out;
  }
}
