import { createRemoteLogSource } from './log-source/remote.js';
import type { ArchiverLogSource } from './contracts.js';
import { createFileLogSource } from './log-source/index.js';

/** Whether `--log` names a log source served by `ferry agent --log-root` rather than a local directory. */
export function isRemoteLogSource(log: string): boolean {
  return /^grpc:/i.test(log);
}

/**
 * The log source `--log` names: `grpc://HOST:PORT[/]` is the one an agent serves (token from
 * FERRY_TOKEN_FILE), anything else a local root directory (docs/wal-log-source.md). Synchronous and
 * checks the form only: nothing is called until the first method.
 */
export function openLogSource(log: string): ArchiverLogSource {
  return isRemoteLogSource(log) ? createRemoteLogSource(log) : createFileLogSource(log);
}
