import { invalidField, quote } from '../errors/index.js';
import { parseGridSpec } from './grid.js';

/**
 * Keep rules (zrepl's): a snapshot is kept when any rule keeps it; docs/retention.md is the reference.
 * `regex` is a JavaScript regular expression, unanchored (add ^ and $ to anchor).
 */
export type KeepRule =
  | { type: 'not_replicated' }
  | { type: 'last_n'; count: number; regex?: string }
  | { type: 'grid'; grid: string; regex?: string } // zrepl syntax: "1x1h(keep=all) | 24x1h | 14x1d"
  | { type: 'regex'; regex: string; negate?: boolean };

/** A job's keep rules: the sender's, and those of each receiver (the same for every receiver). */
export interface RetentionPolicy {
  sender: KeepRule[];
  receivers: KeepRule[];
}

const FIELDS: Record<KeepRule['type'], readonly string[]> = {
  not_replicated: ['type'],
  last_n: ['type', 'count', 'regex'],
  grid: ['type', 'grid', 'regex'],
  regex: ['type', 'regex', 'negate'],
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Pure: compiles `source`, or throws invalidField(field) saying why. Empty is refused: it would match every name. */
export function compileRegex(source: unknown, field: string): RegExp {
  if (typeof source !== 'string') throw invalidField(field, 'must be a string (a regular expression)');
  if (source === '') throw invalidField(field, 'must not be empty (use ".*" to match every name)');
  try {
    return new RegExp(source);
  } catch (err) {
    throw invalidField(field, `${quote(source)} is not a valid regular expression: ${(err as Error).message}`);
  }
}

function parseRule(raw: unknown, field: string): KeepRule {
  if (!isRecord(raw)) throw invalidField(field, 'must be a keep rule object with a type');
  const type = raw.type;
  if (typeof type !== 'string' || !(type in FIELDS)) {
    throw invalidField(`${field}.type`, `${quote(type)}: use one of ${Object.keys(FIELDS).join(', ')}`);
  }
  const known = FIELDS[type as KeepRule['type']];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) throw invalidField(`${field}.${key}`, `unknown field for a ${type} rule (fields: ${known.join(', ')})`);
  }
  const regex = (): { regex?: string } => {
    if (raw.regex === undefined) return {};
    compileRegex(raw.regex, `${field}.regex`);
    return { regex: raw.regex as string };
  };
  switch (type as KeepRule['type']) {
    case 'not_replicated':
      return { type: 'not_replicated' };
    case 'last_n': {
      const count = raw.count;
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count <= 0) {
        throw invalidField(`${field}.count`, `${quote(count)}: must be a positive whole number`);
      }
      return { type: 'last_n', count, ...regex() };
    }
    case 'grid': {
      if (typeof raw.grid !== 'string' || raw.grid.trim() === '') {
        throw invalidField(`${field}.grid`, 'must be a grid like "1x1h(keep=all) | 24x1h | 14x1d"');
      }
      try {
        parseGridSpec(raw.grid);
      } catch (err) {
        throw invalidField(`${field}.grid`, (err as Error).message);
      }
      return { type: 'grid', grid: raw.grid, ...regex() };
    }
    case 'regex': {
      if (raw.regex === undefined) throw invalidField(`${field}.regex`, 'is required for a regex rule');
      if (raw.negate !== undefined && typeof raw.negate !== 'boolean') throw invalidField(`${field}.negate`, `${quote(raw.negate)}: must be true or false`);
      return { type: 'regex', ...(regex() as { regex: string }), ...(raw.negate === true ? { negate: true } : {}) };
    }
  }
}

/**
 * Pure: checks a list of keep rules (from JSON, YAML or a request) and returns them normalized.
 * Throws invalidField naming the path below `field`, e.g.
 * `retention.sender[1].grid: interval 2 "24x1q": unknown unit "q"`.
 */
export function parseKeepRules(input: unknown, field: string): KeepRule[] {
  if (!Array.isArray(input)) throw invalidField(field, 'must be a list of keep rules');
  return input.map((raw, i) => parseRule(raw, `${field}[${i}]`));
}

/**
 * Pure: a policy `{ sender: [...], receivers: [...] }` (either list may be absent: no rules, nothing
 * pruned on that side). `not_replicated` is refused for receivers: everything on a receiver has
 * been replicated, so there it would keep nothing, which is never what was meant.
 */
export function parseRetentionPolicy(input: unknown, field: string): RetentionPolicy {
  if (!isRecord(input)) throw invalidField(field, 'must be an object with sender and receivers keep rules');
  for (const key of Object.keys(input)) {
    if (key !== 'sender' && key !== 'receivers') throw invalidField(`${field}.${key}`, 'unknown field (fields: sender, receivers)');
  }
  const sender = input.sender === undefined ? [] : parseKeepRules(input.sender, `${field}.sender`);
  const receivers = input.receivers === undefined ? [] : parseKeepRules(input.receivers, `${field}.receivers`);
  const misplaced = receivers.findIndex((r) => r.type === 'not_replicated');
  if (misplaced >= 0) throw invalidField(`${field}.receivers[${misplaced}].type`, 'not_replicated applies to the sender only');
  return { sender, receivers };
}
