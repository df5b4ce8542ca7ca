import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Redis } from 'ioredis';
import { normalAddress, openSentinel, sentinelsOf } from './redis.js';

/**
 * `host:port` normalised, a host name resolved to each of its addresses: sentinels with
 * `announce-hostnames` (the compose HA profile) name the primary by name, the socket knows its IP.
 */
export async function addressesOf(host: string, port: string | number): Promise<string[]> {
  if (isIP(host)) return [normalAddress(host, port)];
  try {
    return (await lookup(host, { all: true })).map((a) => normalAddress(a.address, port));
  } catch {
    return [normalAddress(host, port)];
  }
}

/**
 * Which server the sentinels of a Sentinel-managed connection name primary now, asked on one small
 * connection kept open (opened on first use; on failure the next sentinel is tried, each once).
 */
export class SentinelView {
  private conn: Redis | null = null;
  private next = 0;

  private constructor(private readonly of: Redis, private readonly sentinels: Array<{ host: string; port: number }>, private readonly master: string) {}

  /** A view for `conn`'s sentinels; null when `conn` is not managed by sentinels. */
  static of(conn: Redis): SentinelView | null {
    const sentinels = sentinelsOf(conn);
    return sentinels.length ? new SentinelView(conn, sentinels, String(conn.options.name)) : null;
  }

  /** The addresses (`host:port`, normalised) of the primary a sentinel names, or null when no sentinel answers within `timeoutMs`. */
  async primary(timeoutMs: number): Promise<string[] | null> {
    const deadline = Date.now() + timeoutMs;
    for (let tried = 0; tried < this.sentinels.length && Date.now() < deadline; tried++) {
      const left = Math.max(1, deadline - Date.now());
      this.conn ??= openSentinel(this.of, this.sentinels[this.next], left);
      try {
        if (this.conn.status === 'wait') await this.conn.connect();
        const addr = (await this.conn.call('SENTINEL', 'get-master-addr-by-name', this.master)) as [string, string] | null;
        if (addr) return await addressesOf(addr[0], addr[1]);
      } catch {
        // this sentinel is down or slow: the next one
      }
      this.close();
      this.next = (this.next + 1) % this.sentinels.length;
    }
    return null;
  }

  close(): void {
    this.conn?.disconnect();
    this.conn = null;
  }
}
