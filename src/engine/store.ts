import type { Redis } from 'ioredis';
import { defineScripts } from '../util/redis-scripts.js';
import { decodeRecord, EngineReader } from './engine-reader.js';
import type { Keys } from './keys.js';
import type { TransitionLog } from './transition-log.js';
import type { ChildEntry, InboxEnvelope, MachineRecord, StatChange, TransitionEvent } from './types.js';

interface StoreCommands {
  ferryCommit(...args: (string | number)[]): Promise<[committed: number, inboxLeft: number]>;
  ferryRead(...args: (string | number)[]): Promise<[string[], string[], string[]]>;
  ferryRemoveOutbox(...args: string[]): Promise<number>;
  ferryUnlock(...args: string[]): Promise<number>;
  ferryRemoveFinished(...args: (string | number)[]): Promise<number>;
}

/** The scripts live beside this file as `commands/<name>-<numKeys>.lua`. */
const SCRIPTS_FOLDER = new URL('./commands/', import.meta.url);
const SCRIPTS: Record<keyof StoreCommands, string> = { ferryCommit: 'commit-5', ferryRead: 'read-3', ferryRemoveOutbox: 'remove-outbox-1', ferryUnlock: 'unlock-1', ferryRemoveFinished: 'remove-finished-4' };

export function encodeRecord(rec: MachineRecord, withSnapshot: boolean): string[] {
  const out: string[] = [];
  const put = (k: string, v: unknown) => out.push(k, typeof v === 'string' ? v : JSON.stringify(v));
  put('kind', rec.kind); put('id', rec.id);
  put('parent', rec.parent ?? ''); put('parentChildId', rec.parentChildId ?? ''); put('parentKey', rec.parentKey ?? '');
  put('version', String(rec.version)); put('defVersion', rec.defVersion); put('status', rec.status);
  put('value', JSON.stringify(rec.value)); put('children', JSON.stringify(rec.children)); put('timers', JSON.stringify(rec.timers));
  put('spawned', JSON.stringify(rec.spawned)); put('stateSince', String(rec.stateSince)); put('createdAt', String(rec.createdAt));
  if (withSnapshot) put('snapshot', JSON.stringify(rec.snapshot));
  return out;
}

/** What the reconciler reads of one machine, in one atomic step. */
export interface MachineView {
  id: string;
  kind: string;
  version: number;
  status: MachineRecord['status'];
  /** the machine that spawned it (null: a top-level machine) */
  parent: string | null;
  /** when it entered its current state: for a finished machine, when it finished (ms since epoch) */
  stateSince: number;
  children: Record<string, ChildEntry>;
  timers: MachineRecord['timers'];
  /** committed, not yet dispatched (JSON) */
  outbox: string[];
  /** the head of the inbox (at most RECONCILE_INBOX_READ envelopes) and its length */
  inbox: InboxEnvelope[];
  inboxLength: number;
}

/** inbox envelopes the reconciler reads per machine */
const RECONCILE_INBOX_READ = 100;

export interface CommitArgs {
  record: MachineRecord;
  expectedVersion: number;
  consumed: number;
  /** JSON outbox entries; the same strings are later removed once dispatched */
  outbox: string[];
  log: TransitionEvent[];
  /** false when the snapshot did not change (a batch of only stale events) */
  writeSnapshot: boolean;
  /** hash fields to delete (progress of children that ended) */
  deleteFields?: string[];
  /** durable numbers to change with this commit */
  stats?: StatChange[];
}

export interface CommitOutcome {
  /** false: another commit won the compare-and-set (re-read and apply again) */
  committed: boolean;
  /** events in the inbox after the commit (0 when not committed) */
  inboxLeft: number;
}

/** the stats hash field of a number: its name and labels (sorted, so one number has one field) */
function statField(name: string, labels: Record<string, string>): string {
  return JSON.stringify([name, Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))]);
}

/**
 * Snapshot store: every write of the engine's machine keys (record, inbox, outbox, index,
 * transition log appends) and the reads only the engine's workers need; the plain reads are
 * EngineReader's. Reads a record with its inbox head, commits with compare-and-set on the version.
 */
export class SnapshotStore extends EngineReader {
  private readonly scripts: Redis & StoreCommands;
  constructor(redis: Redis, keys: Keys, private readonly logMaxLen: number, transitions?: TransitionLog) {
    super(redis, keys, transitions);
    this.scripts = defineScripts<StoreCommands>(redis, SCRIPTS_FOLDER, SCRIPTS);
  }

  /**
   * The record with the head of its inbox, in one atomic step. Without `skipSnapshot` (no cached
   * snapshot) also the outbox as committed (JSON), whose leftovers the caller dispatches first.
   */
  async read(id: string, maxEvents: number, skipSnapshot: boolean): Promise<{ record: MachineRecord | null; envelopes: InboxEnvelope[]; outbox: string[] }> {
    const [flat, raw, outbox] = await this.scripts.ferryRead(this.keys.record(id), this.keys.inbox(id), this.keys.outbox(id), maxEvents, skipSnapshot ? '1' : '0');
    return { record: decodeRecord(flat), envelopes: raw.map((r) => JSON.parse(r) as InboxEnvelope), outbox };
  }

  /**
   * Appends an envelope to the machine's inbox; returns the inbox's length after it. The caller
   * schedules a drain only when it is 1: a longer inbox has a drain coming, which goes on while
   * its commits leave events in the inbox (see `commit`).
   */
  async append(id: string, env: InboxEnvelope): Promise<number> {
    return this.redis.rpush(this.keys.inbox(id), JSON.stringify(env));
  }

  /** Lists a top-level machine under its kind, scored by its creation time (ms since epoch). */
  async index(kind: string, id: string, createdAt: number): Promise<void> {
    await this.redis.zadd(this.keys.index(kind), 'NX', createdAt, id);
  }

  /**
   * Commits one step atomically (commands/commit-5.lua). `committed` is false when another commit
   * won the compare-and-set; `inboxLeft` is how many events the inbox holds after the commit.
   */
  async commit(a: CommitArgs): Promise<CommitOutcome> {
    const fields = encodeRecord(a.record, a.writeSnapshot);
    const id = a.record.id;
    const args: (string | number)[] = [
      this.keys.record(id), this.keys.inbox(id), this.keys.outbox(id), this.keys.transitions, this.keys.stats,
      String(a.expectedVersion), a.consumed, this.logMaxLen, fields.length / 2, ...fields,
      (a.deleteFields ?? []).length, ...(a.deleteFields ?? []),
      a.outbox.length, ...a.outbox,
      a.log.length, ...a.log.map((l) => JSON.stringify(l)),
      (a.stats ?? []).length, ...(a.stats ?? []).flatMap((c) => [c.op, statField(c.name, c.labels), String(c.value)]),
    ];
    const [committed, inboxLeft] = await this.scripts.ferryCommit(...args);
    return { committed: committed === 1, inboxLeft };
  }

  async pendingOutbox(id: string): Promise<string[]> {
    return this.redis.lrange(this.keys.outbox(id), 0, -1);
  }

  async removeOutbox(id: string, entries: string[]): Promise<void> {
    if (entries.length) await this.scripts.ferryRemoveOutbox(this.keys.outbox(id), ...entries);
  }

  /** One SCAN step over the machine records: the next cursor ("0" at the end) and the ids found. */
  async scanRecords(cursor: string, count: number): Promise<[next: string, ids: string[]]> {
    const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.recordPattern, 'COUNT', count, 'TYPE', 'hash');
    return [next, keys.map((k) => this.keys.idOfRecord(k))];
  }

  /** The machine as the reconciler needs it (record fields, outbox, inbox head), or null when it does not exist. */
  async view(id: string): Promise<MachineView | null> {
    const replies = await this.redis.multi()
      .hmget(this.keys.record(id), 'version', 'status', 'children', 'timers', 'kind', 'parent', 'stateSince')
      .lrange(this.keys.outbox(id), 0, -1)
      .lrange(this.keys.inbox(id), 0, RECONCILE_INBOX_READ - 1)
      .llen(this.keys.inbox(id))
      .exec();
    if (!replies) return null;
    for (const [err] of replies) if (err) throw err;
    const [version, status, children, timers, kind, parent, stateSince] = replies[0][1] as Array<string | null>;
    if (!version) return null;
    return {
      id, kind: kind ?? '', version: Number(version), status: status as MachineRecord['status'], parent: parent || null, stateSince: Number(stateSince ?? 0),
      children: children ? JSON.parse(children) : {}, timers: timers ? JSON.parse(timers) : {},
      outbox: replies[1][1] as string[],
      inbox: (replies[2][1] as string[]).map((r) => JSON.parse(r) as InboxEnvelope),
      inboxLength: replies[3][1] as number,
    };
  }

  /** whether the machine's record exists */
  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.record(id))) === 1;
  }

  /**
   * Removes a finished machine (record, inbox, outbox, index entry: commands/remove-finished-4.lua)
   * if it is still final, finished at or before `cutoff` (ms since epoch) and has no outbox left;
   * true when removed. The caller checks the parent first: children go with or after their parent.
   */
  async removeFinished(id: string, kind: string, cutoff: number): Promise<boolean> {
    const k = this.keys;
    return (await this.scripts.ferryRemoveFinished(k.record(id), k.inbox(id), k.outbox(id), k.index(kind), cutoff, id)) === 1;
  }

  /** Takes the reconciler's lock for `ttlMs` unless another holder has it. */
  async lock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.reconcilerLock, token, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }

  /** Releases the reconciler's lock if `token` still holds it. */
  async unlock(token: string): Promise<void> {
    await this.scripts.ferryUnlock(this.keys.reconcilerLock, token);
  }

  async setProgress(id: string, childId: string, progress: unknown): Promise<void> {
    // only while the record exists: a late progress report must not resurrect a deleted machine
    await this.redis.hset(this.keys.record(id), `progress:${childId}`, JSON.stringify(progress));
  }
}
