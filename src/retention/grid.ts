/**
 * zrepl's retention grid: "1x1h(keep=all) | 24x1h | 14x1d" is a list of adjacent time buckets
 * laid back from an anchor time (the newest snapshot the rule considers). Pure: parsing and fitting.
 */

/** keep=all in a bucket */
export const KEEP_ALL = -1;

/** One group of the spec, "24x1h": `repeat` buckets of `lengthMs`, each keeping `keep` snapshots (KEEP_ALL: all). */
export interface GridInterval {
  /** the group as written, spaces removed, for reasons: "24x1h" */
  text: string;
  repeat: number;
  lengthMs: number;
  keep: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

// zrepl's interval syntax: REPEAT x DURATION, then optional (keep=N|all); spaces allowed between the parts
const INTERVAL = /^\s*(\d+)\s*x\s*([^(]+?)\s*(?:\((.*)\))?\s*$/;
const DURATION = /^(\d+)\s*([a-zA-Z]*)$/;
const KEEP = /^\s*keep\s*=\s*(.+?)\s*$/;

/** Pure: a zrepl duration ("1h", "14d", "30s", "2w") in ms; throws a problem text (no field) when it is not one. */
function parseGridDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) return fail(`duration ${JSON.stringify(text.trim())}: use a whole number and a unit (s, m, h, d, w), e.g. 1h or 14d`);
  const unit = m[2]!;
  if (!unit) return fail(`duration ${JSON.stringify(text.trim())}: missing unit (s, m, h, d, w)`);
  const ms = UNIT_MS[unit];
  if (ms === undefined) return fail(`unknown unit ${JSON.stringify(unit)} (use s, m, h, d or w)`);
  const n = Number(m[1]);
  if (n <= 0) return fail('duration must be positive');
  return n * ms;
}

function parseKeep(text: string): number {
  const m = KEEP.exec(text);
  if (!m) return fail(`unknown parameter ${JSON.stringify(text.trim())} (only keep=N or keep=all)`);
  if (m[1] === 'all') return KEEP_ALL;
  if (!/^\d+$/.test(m[1]!) || Number(m[1]) === 0) return fail(`keep=${m[1]}: use a positive whole number or all`);
  return Number(m[1]);
}

class GridSyntaxError extends Error {}
function fail(problem: string): never {
  throw new GridSyntaxError(problem);
}

/**
 * Pure: the intervals of a grid spec, or throws an Error whose message is the problem, e.g.
 * `interval 2 "24x1q": unknown unit "q"` (the caller adds the field). Rejects, as zrepl does, a
 * spec whose bucket lengths shrink after a bucket that keeps a count (a likely config mistake).
 */
export function parseGridSpec(spec: string): GridInterval[] {
  const parts = spec.split('|');
  const intervals: GridInterval[] = [];
  parts.forEach((part, i) => {
    const where = `interval ${i + 1} ${JSON.stringify(part.trim())}`;
    try {
      const m = INTERVAL.exec(part);
      if (!m) fail('use REPEATxDURATION or REPEATxDURATION(keep=N|all), e.g. 24x1h or 1x1h(keep=all)');
      const repeat = Number(m[1]);
      if (!Number.isSafeInteger(repeat) || repeat <= 0) fail('the repeat count must be positive');
      const lengthMs = parseGridDuration(m[2]!);
      const keep = m[3] === undefined ? 1 : parseKeep(m[3]);
      intervals.push({ text: part.replace(/\s+/g, ''), repeat, lengthMs, keep });
    } catch (err) {
      if (err instanceof GridSyntaxError) throw new Error(`${where}: ${err.message}`);
      throw err;
    }
  });
  // zrepl: lengths must not decrease, unless every bucket before is keep=all
  let allKeepAll = true;
  let last = 0;
  intervals.forEach((iv, i) => {
    if (iv.lengthMs < last && !allKeepAll) {
      throw new Error(`interval ${i + 1} ${JSON.stringify(iv.text)}: bucket lengths must not shrink (this one is shorter than the one before)`);
    }
    last = iv.lengthMs;
    allKeepAll &&= iv.keep === KEEP_ALL;
  });
  return intervals;
}

/** The bucket a grid rule keeps a snapshot in: its group and its number in that group (1-based). */
export interface GridSlot {
  interval: GridInterval;
  bucket: number;
}

/**
 * Pure: which of `times` the grid keeps. `times` must be sorted newest first (ties in the caller's
 * order, which counts earlier as newer). The anchor is `times[0]`; bucket k covers
 * (upper - length, upper], so a time on a boundary falls into the older bucket, as in zrepl; times
 * older than the last bucket are not kept; a bucket keeps its `keep` oldest times. One pass.
 * Returns, per index, the slot that keeps it, or undefined.
 */
export function fitGrid(intervals: readonly GridInterval[], times: readonly number[]): (GridSlot | undefined)[] {
  const kept: (GridSlot | undefined)[] = new Array(times.length).fill(undefined);
  if (times.length === 0) return kept;
  let upper = times[0]!;
  let i = 0;
  for (const interval of intervals) {
    for (let b = 1; b <= interval.repeat && i < times.length; b++) {
      // jump over empty buckets at once (a sparse history under "10000x1m" costs no loop per bucket)
      const empty = Math.max(0, Math.ceil((upper - times[i]!) / interval.lengthMs) - 1);
      const skip = Math.min(empty, interval.repeat - b + 1);
      b += skip;
      upper -= skip * interval.lengthMs;
      if (b > interval.repeat) break;
      const lower = upper - interval.lengthMs;
      const start = i;
      while (i < times.length && times[i]! > lower) i++;
      // the bucket holds times[start..i), newest first: keep its `keep` oldest
      const from = interval.keep === KEEP_ALL ? start : Math.max(start, i - interval.keep);
      if (from < i) {
        const slot: GridSlot = { interval, bucket: b };
        for (let k = from; k < i; k++) kept[k] = slot;
      }
      upper = lower;
    }
  }
  return kept;
}
