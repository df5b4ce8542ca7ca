import { InvalidArgumentError } from 'commander';

/** how long `ferry serve` and `ferry worker` keep finished runs' machines unless told otherwise */
export const DEFAULT_HISTORY_DAYS = 30;
const DAY_MS = 86_400_000;

/**
 * `--history-days <days|forever>`: days a finished machine is kept after it finished (docs/engine.md
 * "Retention"), as the engine's finishedRetentionMs. "forever" or 0: kept for good.
 */
export function historyDays(v: string): number {
  if (v === 'forever') return 0;
  const days = Number(v);
  if (v.trim() === '' || !Number.isFinite(days) || days < 0) throw new InvalidArgumentError(`expected a number of days ≥ 0 or "forever", got ${JSON.stringify(v)}`);
  return Math.round(days * DAY_MS);
}

/** the retention of a process whose flags did not set one */
export const DEFAULT_FINISHED_RETENTION_MS = DEFAULT_HISTORY_DAYS * DAY_MS;
