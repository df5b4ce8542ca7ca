/**
 * Error messages quote what a caller sent, and a message travels in a gRPC trailer (which grpc-js
 * cannot send past a few KiB), in logs and in machine snapshots: so a quote is a short prefix.
 */

/** How many characters of a value a message quotes. */
export const QUOTE_CHARS = 200;
/** How long the problem of an invalid field may be, quotes included. */
export const PROBLEM_CHARS = 1000;

/** Pure: `text` cut to `max` characters (never inside a surrogate pair), with how long it was: "abc…(200000 bytes)". */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…(${Buffer.byteLength(text)} bytes)`;
}

/** Pure: a value as a message quotes it: JSON, at most QUOTE_CHARS of it. */
export function quote(value: unknown, max = QUOTE_CHARS): string {
  if (typeof value === 'string') {
    return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}…(${Buffer.byteLength(value)} bytes)`;
  }
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(text, max);
}
