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

/** What one sentinel (`host:port`) said of the master group: the primary it names and its state; or why it did not answer. */
export type SentinelAnswer =
  | { sentinel: string; primary: string[]; configEpoch: number; flags: string[]; failoverState: string | null }
  | { sentinel: string; error: string };

/** the master flags of `SENTINEL MASTER` that say the primary is down: a failover may be about to start */
const UNSETTLED_FLAGS = ['s_down', 'o_down'];

/** Pure: the fields of a `SENTINEL MASTER` reply (a flat name, value list). */
export function masterFields(reply: unknown): Record<string, string> {
  const flat = Array.isArray(reply) ? reply.map(String) : [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

type Answered = Extract<SentinelAnswer, { primary: string[] }>;

/**
 * Pure: why this answer does not confirm `server` as the primary (null: it does). A sentinel that
 * names another server at a config-epoch older than `newest` (another answer's) has not heard of the
 * failover since (the newest epoch wins in Sentinel, and it learns it within seconds): not an objection.
 */
function objection(a: Answered, server: string, newest: number): string | null {
  const failingOver = a.flags.includes('failover_in_progress') || (a.failoverState !== null && a.failoverState !== 'none');
  if (!a.primary.includes(server)) return a.configEpoch < newest && !failingOver ? null : `${a.sentinel} names ${a.primary.join(' / ')} (config-epoch ${a.configEpoch})`;
  if (!failingOver && !a.flags.some((f) => UNSETTLED_FLAGS.includes(f))) return null;
  return `${a.sentinel} reports it in a failover or down (flags ${a.flags.join(',')}${a.failoverState ? `, failover-state ${a.failoverState}` : ''})`;
}

/**
 * Pure: why the sentinels' answers do not confirm `server` (the server that acknowledged a WAIT)
 * as the primary; null when a majority of the configured sentinels (`answers`, one each) answered,
 * those at the newest config-epoch name it, and none reports a failover in progress or it down.
 */
export function quorumRefusal(answers: SentinelAnswer[], server: string | null, timeoutMs: number): string | null {
  if (server === null) return 'the address of the server that acknowledged is unknown (connection lost?): it may no longer be the primary';
  const majority = Math.floor(answers.length / 2) + 1;
  const answered = answers.filter((a): a is Answered => 'primary' in a);
  const newest = Math.max(-1, ...answered.map((a) => a.configEpoch));
  const objections = answered.map((a) => objection(a, server, newest)).filter((o): o is string => o !== null);
  if (answered.length >= majority && objections.length === 0) return null;
  const silent = answers.flatMap((a) => ('error' in a ? [`${a.sentinel}: ${a.error}`] : []));
  const quorum = answered.length < majority ? [`${answered.length} of ${answers.length} answered within ${timeoutMs} ms, ${majority} needed (${silent.join('; ')})`] : [];
  return `the sentinels do not confirm ${server} as the primary: ${[...objections, ...quorum].join('; ')}`;
}

/**
 * What every configured sentinel of a Sentinel-managed connection says of its master group now,
 * asked all at once (`SENTINEL MASTER`), each on one small connection kept open (opened on first
 * use, closed when it fails or times out, opened again on the next check).
 */
export class SentinelView {
  private readonly conns: Array<Redis | null>;

  private constructor(private readonly of: Redis, private readonly sentinels: Array<{ host: string; port: number }>, private readonly master: string) {
    this.conns = sentinels.map(() => null);
  }

  /** A view for `conn`'s sentinels; null when `conn` is not managed by sentinels. */
  static of(conn: Redis): SentinelView | null {
    const sentinels = sentinelsOf(conn);
    return sentinels.length ? new SentinelView(conn, sentinels, String(conn.options.name)) : null;
  }

  /** Why the sentinels do not confirm `server` as the primary within `timeoutMs` (null: they do); see quorumRefusal. */
  async refusal(server: string | null, timeoutMs: number): Promise<string | null> {
    return quorumRefusal(await this.ask(timeoutMs), server, timeoutMs);
  }

  /** every sentinel's answer, each within `timeoutMs` */
  ask(timeoutMs: number): Promise<SentinelAnswer[]> {
    return Promise.all(this.sentinels.map((_, i) => this.askOne(i, timeoutMs)));
  }

  private async askOne(i: number, timeoutMs: number): Promise<SentinelAnswer> {
    const s = this.sentinels[i];
    const sentinel = normalAddress(s.host, s.port);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); });
    try {
      const m = masterFields(await Promise.race([this.query(i, timeoutMs), late]));
      if (!m.ip || !m.port) throw new Error(`SENTINEL MASTER ${this.master}: no address in the reply`);
      return { sentinel, primary: await addressesOf(m.ip, m.port), configEpoch: Number(m['config-epoch'] ?? 0), flags: (m.flags ?? '').split(',').filter(Boolean), failoverState: m['failover-state'] ?? null };
    } catch (err) {
      // down, slow or not monitoring the group: its connection is opened again next time
      this.conns[i]?.disconnect();
      this.conns[i] = null;
      return { sentinel, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  private async query(i: number, timeoutMs: number): Promise<unknown> {
    const conn = (this.conns[i] ??= openSentinel(this.of, this.sentinels[i], timeoutMs));
    if (conn.status === 'wait') await conn.connect();
    return conn.call('SENTINEL', 'MASTER', this.master);
  }

  close(): void {
    for (const c of this.conns) c?.disconnect();
    this.conns.fill(null);
  }
}
