import type { Engine } from '../engine/engine.js';
import type { MachineSummary } from '../engine/engine-reader.js';
import type { MachineRecord, TransitionEvent } from '../engine/types.js';
import { stateName } from '../util/state-name.js';
import { diagramOf } from './diagram.js';
import { layoutDiagram, type LaidOutDiagram } from './diagram-layout.js';

/** One machine in the live view's list. */
export interface MachineRow {
  id: string;
  kind: string;
  state: string;
  status: MachineRecord['status'];
  /** ms since epoch; 0 when not known */
  createdAt: number;
  /** ms since epoch the current state was entered */
  stateSince: number;
  parent: string | null;
}

/** A machine instance's page: its record, context, children and transition history. */
export interface MachineDetail extends MachineRow {
  value: unknown;
  context: unknown;
  output: unknown;
  /** child machines (durable instances) and running effects */
  /** `key`: the id the machine gave the child (its invoke or spawn id) */
  children: Array<{ key: string; src: string; type: 'effect' | 'machine'; instanceId: string | null }>;
  progress: unknown;
  /** its transitions, oldest first (the newest `HISTORY_LIMIT` the log still holds) */
  history: TransitionEvent[];
  /** the log's newest id when the history was read: follow the live stream after it, missing nothing */
  logId: string;
}

export const HISTORY_LIMIT = 500;
/** transition log entries read per round trip while looking back for one machine's history */
const SCAN_BATCH = 2000;

/** The kinds listed at the top level (children such as filesystems are reached from their parents). */
export const LISTED_KINDS = ['job', 'replication', 'pruning', 'partition'] as const;

function row(rec: MachineSummary): MachineRow {
  return { id: rec.id, kind: rec.kind, state: stateName(rec.value), status: rec.status, createdAt: rec.createdAt || 0, stateSince: rec.stateSince || 0, parent: rec.parent };
}

/** The newest machines of each listed kind (top-level: children are reached from their parents), newest first. */
export async function listMachines(engine: Pick<Engine, 'list' | 'summaries'>, perKind: number): Promise<MachineRow[]> {
  const ids = (await Promise.all(LISTED_KINDS.map((k) => engine.list(k, perKind)))).flat();
  const summaries = await engine.summaries(ids);
  return summaries.filter((r): r is MachineSummary => r !== null).map(row).sort((a, b) => b.createdAt - a.createdAt);
}

/** Pure: whether stream id `a` comes after `b` (ids are `<ms>-<seq>`). */
export function streamIdAfter(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am > bm || (am === bm && (as ?? 0) > (bs ?? 0));
}

/**
 * One machine's transitions from its creation up to `upTo` (stream ids are ms times, so the read
 * starts there), the newest HISTORY_LIMIT of them. `upTo` is the log id read before the record: the
 * live stream follows after it, so no transition falls between the history and the stream.
 */
async function historyOf(engine: Engine, rec: MachineRecord, upTo: string): Promise<TransitionEvent[]> {
  const out: TransitionEvent[] = [];
  let after = rec.createdAt ? `${Math.max(0, rec.createdAt - 1000)}-0` : '0';
  for (;;) {
    const batch = await engine.transitions.read(after, SCAN_BATCH);
    for (const e of batch) {
      if (streamIdAfter(e.id!, upTo)) return out.slice(-HISTORY_LIMIT);
      if (e.machineId === rec.id) out.push(e);
    }
    if (batch.length < SCAN_BATCH) return out.slice(-HISTORY_LIMIT);
    after = batch[batch.length - 1].id!;
    if (out.length > 2 * HISTORY_LIMIT) out.splice(0, out.length - HISTORY_LIMIT);
  }
}

/**
 * The running children (effects and machines), then the child machines it spawned that are over
 * (a finished child leaves the record's children; its first instance id is `<id>.<child id>`).
 */
async function childrenOf(engine: Engine, rec: MachineRecord): Promise<MachineDetail['children']> {
  const running = Object.entries(rec.children ?? {}).map(([childId, c]) => ({ key: childId, src: c.src, type: c.type, instanceId: c.instanceId ?? null }));
  const listed = new Set(running.map((c) => c.key));
  const past = await Promise.all((rec.spawned ?? []).filter((key) => !listed.has(key)).map(async (key) => {
    const child = await engine.get(`${rec.id}.${key}`);
    return child ? { key, src: child.kind, type: 'machine' as const, instanceId: child.id } : null;
  }));
  return [...running, ...past.filter((c) => c !== null)];
}

/** A machine's context as committed (the live page refreshes it after transitions: no history, no children); null when no such machine. */
export async function machineContext(engine: Engine, id: string): Promise<{ context: unknown } | null> {
  const snap = await engine.snapshotOf(id);
  return snap ? { context: snap.context ?? null } : null;
}

export async function machineDetail(engine: Engine, id: string): Promise<MachineDetail | null> {
  const logId = await engine.transitions.lastId();
  const rec = await engine.get(id);
  if (!rec) return null;
  const snap = rec.snapshot as { context?: unknown; output?: unknown } | undefined;
  return {
    ...row(rec),
    value: rec.value,
    context: snap?.context ?? null,
    output: snap?.output ?? null,
    children: await childrenOf(engine, rec),
    progress: (rec as { progress?: unknown }).progress ?? null,
    history: await historyOf(engine, rec, logId),
    logId,
  };
}

/** Each machine kind's diagram, laid out once per process (the definitions do not change while it runs). */
export class DiagramCache {
  private readonly laid = new Map<string, Promise<LaidOutDiagram>>();
  constructor(private readonly engine: Engine) {}

  kinds(): string[] {
    return Object.keys(this.engine.registry.machines);
  }

  get(kind: string): Promise<LaidOutDiagram> | null {
    const def = this.engine.registry.machines[kind];
    if (!def) return null;
    let d = this.laid.get(kind);
    if (!d) {
      d = layoutDiagram(diagramOf(kind, def.machine));
      this.laid.set(kind, d);
      d.catch(() => this.laid.delete(kind));
    }
    return d;
  }
}
