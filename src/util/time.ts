/** Time formats ferry writes: ISO 8601 for people and JSON, compact UTC stamps for names and ids. */

/** Pure: epoch milliseconds as ISO 8601 UTC, e.g. 2026-11-21T10:15:00.000Z. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Pure: as `isoTime`, and null for null, undefined, a non-finite number or a time out of Date's range. */
export function isoOrNull(ms: number | null | undefined): string | null {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return null;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Pure: basic-format UTC time to the second, e.g. 20261121T101500Z: sorts by time, safe in names. */
export function compactUtcStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Pure: as `compactUtcStamp`, to the millisecond, e.g. 20261121T101500123Z. */
export function compactUtcStampMs(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}
