import { restorePartition, type RestoreResult } from '../../archiver/restore.js';
import { openSink } from '../../archiver/sinks/index.js';
import { PermanentError } from '../../errors/index.js';

export interface RestoreFlags {
  sink: string;
  storage: string;
  partition: string;
  from?: number;
  toLsn?: number;
  into: string;
  json?: boolean;
}

/**
 * `ferry restore`: restores, prints the result, and returns the exit status: 0 when every entry of
 * the range is in place, 1 when the archive has a gap (the message names the next archived LSN to
 * go on with `--from`; the entries before the gap stay restored). Other errors are thrown.
 */
export async function restoreCommand(o: RestoreFlags, print: (line: string) => void, printError: (line: string) => void): Promise<number> {
  let r: RestoreResult;
  try {
    r = await restorePartition({ sink: openSink(o.sink), storage: o.storage, partition: o.partition, fromLsn: o.from, toLsn: o.toLsn, into: o.into, flags: { from: '--from', to: '--to-lsn' } });
  } catch (err) {
    if (!(err instanceof PermanentError && err.code === 'GAP')) throw err;
    printError(`ferry: ${err.message}`);
    if (o.json) print(JSON.stringify({ error: { code: err.code, message: err.message, ...err.details } }));
    return 1;
  }
  print(o.json ? JSON.stringify(r) : `restored ${r.restored} entries (LSN ${r.firstLsn}..${r.lastLsn}) into ${o.into}`);
  return 0;
}
