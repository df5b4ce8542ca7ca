import { InvalidArgumentError } from '../errors/index.js';

/**
 * Durations as a person types and reads them (`--every 10m`, "down for 2h5m"). The CLI and the config
 * file read this text; job specs and the gRPC API carry milliseconds.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "10m", "1h30m", "45s", "500ms" or plain milliseconds, as milliseconds; `flag` names the option in errors. */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(t))) {
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    end = re.lastIndex;
  }
  if (!t || end !== t.length) throw new InvalidArgumentError(`${flag} ${JSON.stringify(text)}: use a duration like 30s, 10m, 1h30m or milliseconds`, { code: 'INVALID_ARGUMENT' });
  return total;
}

/** Milliseconds exactly, in the largest whole unit (parseDuration reads it back): 600000 -> "10m", 1500 -> "1500ms". */
export function formatDurationExact(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
