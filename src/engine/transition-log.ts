import type { Redis } from 'ioredis';
import { duplicateRedis } from '../util/redis.js';
import { isReplicaWaitTimeout } from './replica-wait.js';
import type { TransitionEvent } from './types.js';

function parseEntries(entries: Array<[string, string[]]>): TransitionEvent[] {
  return entries.map(([id, fields]) => ({ ...(JSON.parse(fields[1]) as TransitionEvent), id }));
}

/**
 * The transition log: a capped Redis stream of committed state changes. Readers keep the
 * last id they saw and resume after it, so a reconnecting reader misses nothing still retained.
 */
export class TransitionLog {
  /**
   * `confirmer`: makes, for a follower's own connection, the check that what it read is on enough
   * replicas (src/engine/replica-wait.ts), so a follower never delivers a transition a failover
   * takes back; none: entries are delivered as read.
   */
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly confirmer?: (conn: Redis) => { confirm(opts: { fence: boolean }): Promise<void> | null; close?(): void },
  ) {}

  /** entries strictly after `afterId` ("0" = from the start), oldest first */
  async read(afterId = '0', count = 1000): Promise<TransitionEvent[]> {
    const start = afterId === '0' ? '-' : `(${afterId}`;
    return parseEntries((await this.redis.xrange(this.key, start, '+', 'COUNT', count)) as Array<[string, string[]]>);
  }

  /** the id of the newest entry, to start following from "now" */
  async lastId(): Promise<string> {
    const last = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return last[0]?.[0] ?? '0';
  }

  /**
   * Calls `onEvent` for every entry after `afterId`, as they are committed and confirmed on the
   * replicas the engine waits for (a batch whose confirmation fails is read again, from the server
   * that then is primary), until the signal aborts. Uses its own connection: XREAD BLOCK holds it.
   */
  async follow(afterId: string, onEvent: (e: TransitionEvent) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    // reports to the owner's status: an outage is logged once for the process
    const conn = duplicateRedis(this.redis, {}, 'transition-log');
    const replicas = this.confirmer?.(conn);
    const onAbort = () => conn.disconnect();
    signal.addEventListener('abort', onAbort, { once: true });
    let last = afterId === '0' ? '0-0' : afterId;
    try {
      while (!signal.aborted) {
        let res: Array<[string, Array<[string, string[]]>]> | null;
        try {
          res = (await conn.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', this.key, last)) as typeof res;
        } catch (err) {
          if (signal.aborted) break;
          throw err;
        }
        if (res?.length && replicas) {
          try {
            // the fence write replicates after what XREAD returned: its WAIT covers those entries
            await replicas.confirm({ fence: true });
          } catch (err) {
            if (signal.aborted) break;
            if (!isReplicaWaitTimeout(err)) throw err;
            await new Promise((r) => setTimeout(r, 200));
            continue;
          }
        }
        for (const [, entries] of res ?? []) {
          for (const e of parseEntries(entries)) {
            last = e.id!;
            await onEvent(e);
          }
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      replicas?.close?.();
      conn.disconnect();
    }
  }
}
