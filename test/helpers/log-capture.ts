import { pino, type Logger } from 'pino';

export interface CapturedLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** pino's numeric levels */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A pino logger at `level` (default warn, ferry's default) whose JSON lines are kept for assertions. */
export function captureLog(level = 'warn'): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const logger = pino({ level, base: { name: 'ferry' } }, { write: (s: string) => { lines.push(JSON.parse(s) as CapturedLine); } });
  return { logger, lines };
}
