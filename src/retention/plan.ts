import { invalidField, quote } from '../errors/index.js';
import { fitGrid, parseGridSpec } from './grid.js';
import { parseKeepRules, type KeepRule } from './rules.js';

export interface SnapshotInfo {
  /** the snapshot's name (the part after '@') */
  name: string;
  /** creation time, ms since epoch (from the filesystem, never from the name) */
  createdAt: number;
}

export interface PlanInput {
  /** one filesystem, one side */
  snapshots: SnapshotInfo[];
  rules: KeepRule[];
  /**
   * ferry's snapshot prefix: a snapshot not named `<prefix>_…` is left alone unless a rule's regex
   * matches its name. '' (a job that takes no snapshots): only what a rule's regex names is pruned.
   */
  prefix: string;
  /** names present on every receiver (for not_replicated, sender side); absent: nothing counts as replicated */
  replicatedToAll?: ReadonlySet<string>;
  /** name -> why (newest common version, step in flight): never destroyed, kept as `protected: <why>` */
  protected?: ReadonlyMap<string, string>;
  /** the planner's clock: snapshots created after it are kept and seen by no rule */
  now: number;
}

export interface PlanResult {
  /** oldest first */
  destroy: { name: string; reason: string }[];
  /** every snapshot not destroyed, oldest first, with every reason it is kept */
  keep: { name: string; reasons: string[] }[];
}

export const REASON_DESTROY = 'no rule keeps it';
export const REASON_NOT_REPLICATED = 'not yet on every receiver';
export const REASON_FUTURE = 'created after now (clock skew?): seen by no rule';
export const REASON_NO_RULES = 'no keep rules: nothing is pruned';

/** A rule ready to run over the snapshots sorted newest first; `keep` adds its reasons. */
interface CompiledRule {
  /** the rule's explicit regex: a name it matches is "named" by the rule (see docs/retention.md) */
  regex?: RegExp;
  keep(ctx: RuleContext): void;
}

interface RuleContext {
  /** the snapshots the rules see (not in the future), newest first */
  sorted: readonly SnapshotInfo[];
  /** reasons by position in `sorted` */
  reasons: (string[] | undefined)[];
  isOwn(name: string): boolean;
  replicatedToAll?: ReadonlySet<string>;
}

function add(reasons: (string[] | undefined)[], at: number, reason: string): void {
  (reasons[at] ??= []).push(reason);
}

const suffix = (regex?: RegExp) => (regex ? ` of /${regex.source}/` : '');

function compile(rule: KeepRule): CompiledRule {
  switch (rule.type) {
    case 'not_replicated':
      return {
        keep: ({ sorted, reasons, replicatedToAll }) => {
          for (let i = 0; i < sorted.length; i++) {
            if (!replicatedToAll?.has(sorted[i]!.name)) add(reasons, i, REASON_NOT_REPLICATED);
          }
        },
      };
    case 'last_n': {
      const regex = rule.regex === undefined ? undefined : new RegExp(rule.regex);
      const reason = `last_n ${rule.count}${suffix(regex)}`;
      return {
        regex,
        keep: ({ sorted, reasons, isOwn }) => {
          let counted = 0;
          for (let i = 0; i < sorted.length && counted < rule.count; i++) {
            const name = sorted[i]!.name;
            if (regex ? regex.test(name) : isOwn(name)) {
              add(reasons, i, reason);
              counted++;
            }
          }
        },
      };
    }
    case 'grid': {
      const regex = rule.regex === undefined ? undefined : new RegExp(rule.regex);
      const intervals = parseGridSpec(rule.grid);
      const tail = suffix(regex);
      return {
        regex,
        keep: ({ sorted, reasons, isOwn }) => {
          const at: number[] = [];
          const times: number[] = [];
          for (let i = 0; i < sorted.length; i++) {
            const s = sorted[i]!;
            if (regex ? regex.test(s.name) : isOwn(s.name)) {
              at.push(i);
              times.push(s.createdAt);
            }
          }
          const slots = fitGrid(intervals, times);
          let lastSlot: (typeof slots)[number];
          let reason = '';
          slots.forEach((slot, k) => {
            if (!slot) return;
            // one string per bucket, shared by its snapshots
            if (slot !== lastSlot) reason = `grid ${slot.interval.text}: bucket ${slot.bucket}${tail}`;
            lastSlot = slot;
            add(reasons, at[k]!, reason);
          });
        },
      };
    }
    case 'regex': {
      const regex = new RegExp(rule.regex);
      const reason = rule.negate ? `regex not /${regex.source}/` : `regex /${regex.source}/`;
      const negate = rule.negate === true;
      return {
        regex,
        keep: ({ sorted, reasons }) => {
          for (let i = 0; i < sorted.length; i++) {
            if (regex.test(sorted[i]!.name) !== negate) add(reasons, i, reason);
          }
        },
      };
    }
  }
}

/** Newest first; equal times: the name that sorts later counts as newer (zrepl's last_n order). */
function newestFirst(a: SnapshotInfo, b: SnapshotInfo): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

function checkSnapshots(snapshots: readonly SnapshotInfo[]): void {
  const seen = new Set<string>();
  snapshots.forEach((s, i) => {
    if (typeof s.name !== 'string' || s.name === '') throw invalidField(`snapshots[${i}].name`, 'must be a non-empty string');
    if (!Number.isFinite(s.createdAt)) throw invalidField(`snapshots[${i}].createdAt`, `${quote(s.createdAt)}: must be ms since epoch`);
    if (seen.has(s.name)) throw invalidField(`snapshots[${i}].name`, `${quote(s.name)} is listed twice`);
    seen.add(s.name);
  });
}

/**
 * Pure and deterministic: which snapshots of one filesystem (one side) to destroy under `rules`
 * (a union: kept when any rule keeps it), and why each one is kept. Protected snapshots, snapshots
 * of other prefixes that no rule's regex names, and snapshots created after `now` are always kept;
 * with no rules nothing is destroyed (as in zrepl). Sorts once; each rule is one pass.
 * Throws invalidField on malformed input (a rule that parseKeepRules refuses, a duplicate name).
 */
export function planPruning(input: PlanInput): PlanResult {
  const rules = parseKeepRules(input.rules, 'rules').map(compile);
  checkSnapshots(input.snapshots);
  if (!Number.isFinite(input.now)) throw invalidField('now', `${quote(input.now)}: must be ms since epoch`);
  if (typeof input.prefix !== 'string') throw invalidField('prefix', 'must be a string');
  // no prefix: ferry takes no snapshots there, so only what a rule's regex names is ever pruned
  const own = input.prefix === '' ? undefined : `${input.prefix}_`;
  const isOwn = (name: string) => own !== undefined && name.startsWith(own);

  const all = [...input.snapshots].sort(newestFirst);
  const firstPast = all.findIndex((s) => s.createdAt <= input.now);
  const future = firstPast < 0 ? all : all.slice(0, firstPast);
  const sorted = firstPast < 0 ? [] : all.slice(firstPast);

  const reasons: (string[] | undefined)[] = new Array(sorted.length).fill(undefined);
  const ctx: RuleContext = { sorted, reasons, isOwn, ...(input.replicatedToAll ? { replicatedToAll: input.replicatedToAll } : {}) };
  for (const rule of rules) rule.keep(ctx);

  const namers = rules.flatMap((r) => (r.regex ? [r.regex] : []));
  const foreignReason = own === undefined ? "no snapshot prefix and no rule's regex names it" : `not made by ferry (no "${own}" prefix) and no rule's regex names it`;
  /** reasons that hold whatever the rules say; undefined when there are none (the common case) */
  const keptAnyway = (name: string): string[] | undefined => {
    const protection = input.protected?.get(name);
    const foreign = !isOwn(name) && !namers.some((re) => re.test(name));
    if (protection === undefined && !foreign && rules.length > 0) return undefined;
    const why: string[] = [];
    if (protection !== undefined) why.push(`protected: ${protection}`);
    if (rules.length === 0) why.push(REASON_NO_RULES);
    if (foreign) why.push(foreignReason);
    return why;
  };

  const result: PlanResult = { destroy: [], keep: [] };
  for (let i = sorted.length - 1; i >= 0; i--) {
    const name = sorted[i]!.name;
    const anyway = keptAnyway(name);
    const byRules = reasons[i];
    if (anyway === undefined && byRules === undefined) result.destroy.push({ name, reason: REASON_DESTROY });
    else result.keep.push({ name, reasons: anyway === undefined ? byRules! : byRules === undefined ? anyway : anyway.concat(byRules) });
  }
  for (let i = future.length - 1; i >= 0; i--) {
    const name = future[i]!.name;
    result.keep.push({ name, reasons: [...(keptAnyway(name) ?? []), REASON_FUTURE] });
  }
  return result;
}
