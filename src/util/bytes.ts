import { InvalidArgumentError } from '../errors/index.js';

const UNIT = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;

/**
 * A rate as a person types it: bytes per second, or with a binary suffix K, M or G (optionally
 * followed by "i", "B", "iB" and "/s": "10M", "512KiB/s", "1.5G"), as whole bytes per second.
 * `field` names the option in the error (details.field too).
 */
export function parseByteRate(text: string | number, field: string): number {
  const m = typeof text === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:\/s)?\s*$/i.exec(text);
  const value = typeof text === 'number' ? text : m ? Math.round(Number(m[1]) * UNIT[m[2].toUpperCase() as keyof typeof UNIT]) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${field}: ${JSON.stringify(text)} is not a rate: use bytes per second, or a number with K, M or G (binary), e.g. 10M`, {
      code: 'INVALID_ARGUMENT', details: { field },
    });
  }
  return value;
}

/** Bytes per second for a person: 10485760 -> "10MiB/s" (whole units when exact), 1500 -> "1500B/s". */
export function formatByteRate(rate: number): string {
  for (const [suffix, unit] of [['GiB', UNIT.G], ['MiB', UNIT.M], ['KiB', UNIT.K]] as const) {
    if (rate % unit === 0) return `${rate / unit}${suffix}/s`;
  }
  return `${rate}B/s`;
}

/** Bytes for a person: 512 -> "512 B", 1536 -> "1.5 KiB". */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
