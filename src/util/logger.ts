import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';

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
    return pino({ level, base }, pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true } }));
  }
  return pino({ level, base }, pino.destination({ dest: 2, sync: false }));
}

/** Every line about a machine carries its kind and id. */
export function machineLogger(log: Logger, kind: string, id: string, extra: Record<string, unknown> = {}): Logger {
  return log.child({ machineKind: kind, machineId: id, ...extra });
}
