import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/**
 * pino JSON logs on stderr (stdout belongs to command output and `--json`); pretty when
 * stderr is a terminal. FERRY_LOG_LEVEL sets the level (default "info"; "silent" to mute).
 */
export function createLogger(opts: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.FERRY_LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? (process.stderr.isTTY && process.env.FERRY_LOG_FORMAT !== 'json');
  // host and pid on every line: workers of many hosts log to one place (docs/ha.md)
  const base = { name: opts.name ?? 'ferry', hostname: hostname(), pid: process.pid };
  if (pretty) {
    // a terminal's pretty lines are written here, not by pino's transport in a worker thread: a
    // transport starts its worker from a file of pino's package, which a bundled CLI does not have
    // (scripts/bundle-cli.mjs); and only terminals load pino-pretty
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino({ level, base }, pretty({ destination: 2, colorize: true, sync: true }));
  }
  return pino({ level, base }, pino.destination({ dest: 2, sync: false }));
}

/** Every line about a machine carries its kind and id. */
export function machineLogger(log: Logger, kind: string, id: string, extra: Record<string, unknown> = {}): Logger {
  return log.child({ machineKind: kind, machineId: id, ...extra });
}
