import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findRedisServer, freePort } from '../../src/cli/embedded-redis.js';
import type { RedisTarget } from '../../src/util/redis-target.js';
import { imagesDir } from './images-dir.js';

/** One redis-server of the topology (a data node or a sentinel), restartable on its port. */
export interface TopologyNode {
  port: number;
  dir: string;
  pid: number;
  running: boolean;
}

export interface SentinelTopology {
  /** the master group name the sentinels monitor */
  master: string;
  /** what ferry connects with: the sentinels and the master name */
  target: RedisTarget;
  nodes: TopologyNode[];
  sentinels: TopologyNode[];
  /** the data node the sentinels name primary now */
  primary(): Promise<TopologyNode>;
  /** SIGKILL, SIGSTOP or SIGCONT to a node */
  signal(node: TopologyNode, sig: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<void>;
  /** starts a killed data node again on its port and data (the sentinels turn a former primary into a replica) */
  restart(node: TopologyNode): Promise<void>;
  /**
   * waits until every running sentinel names the same primary other than `old`, which answers as
   * one, for FAILOVER_SETTLE_MS; returns it. Under load two sentinels can each run a failover of the
   * same master and promote a replica each: the newest config-epoch wins, and the other is made a
   * replica again seconds later, so the first primary one sentinel names may not be the one.
   */
  failedOver(old: TopologyNode, timeoutMs?: number): Promise<TopologyNode>;
  /**
   * waits until `primary` has `count` replicas attached and in sync (INFO replication: state=online).
   * After a failover the sentinels move the surviving replicas to the new primary only once it
   * answers as one, and a replica that needs a full resync writes and loads a dump first: seconds
   * under a busy disk, during which a commit under --min-replicas 1 cannot be confirmed.
   */
  replicasOnline(primary: TopologyNode, count: number, timeoutMs?: number): Promise<void>;
  /** what each sentinel names primary and what each data node says it is, with its log's last lines (for errors) */
  describe(): Promise<string>;
  /** restarts the data nodes a test left killed and waits until the primary has every other one online: the next test starts whole */
  whole(timeoutMs?: number): Promise<void>;
  /** a plain connection to one node (for INFO, ROLE, reading keys), closed by the caller */
  connect(node: TopologyNode): Redis;
  stop(): Promise<void>;
}

/**
 * How long the sentinels must agree on a new primary before a failover counts as done. Agreement
 * alone leaves out a sentinel still running a failover of its own (it names the old primary until
 * it ends); this covers one whose answer was read just before it started (seen: a competing
 * promotion 0.2 s after the first failover ended, the switch to it 1.1 s later).
 */
const FAILOVER_SETTLE_MS = 2_000;

const children = new Map<TopologyNode, ChildProcess>();

interface UntilOptions {
  /** a reason the wait can never end (a process that exited): ends it at once */
  gone?: () => string | null;
  /** what was seen, added to a timeout's error */
  detail?: () => string | Promise<string>;
}

/** Polls `check` until it holds (a check that throws has not held yet). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, opts: UntilOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = opts.gone?.();
    if (why) throw new Error(`sentinel topology: ${why}, waiting for ${what}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`sentinel topology: timed out waiting for ${what}${opts.detail ? `: ${await opts.detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

function launch(node: TopologyNode, args: string[]): void {
  const child = spawn(findRedisServer()!, args, { stdio: 'ignore' });
  node.pid = child.pid!;
  node.running = true;
  child.once('exit', () => { node.running = false; });
  children.set(node, child);
}

function dataArgs(node: TopologyNode, replicaOf: number | null, appendonly: boolean): string[] {
  return [
    '--port', String(node.port), '--bind', '127.0.0.1', '--dir', node.dir, '--daemonize', 'no', '--save', '',
    '--appendonly', appendonly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction', '--logfile', join(node.dir, 'redis.log'),
    // a replica answers reads during a resync with its old data (the default); writes go to the primary only
    '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0',
    ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
  ];
}

/** the last `lines` lines of a node's log (those matching `keep`, when given), for an error message */
function logTail(node: TopologyNode, file: string, lines = 5, keep?: RegExp): string {
  try {
    const all = readFileSync(join(node.dir, file), 'utf8').trim().split('\n');
    return (keep ? all.filter((l) => keep.test(l)) : all).slice(-lines).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** ROLE: [master, offset, replicas] or [slave, host, port, link state, offset] */
function role(node: TopologyNode): Promise<unknown[]> {
  return ask(node.port, (r) => r.call('ROLE') as Promise<unknown[]>);
}

type TopologyOptions = { replicas?: number; master?: string; appendonly?: boolean };

/**
 * A Redis Sentinel topology on loopback for tests and chaos: one primary, `replicas` replicas and
 * three sentinels (quorum 2, down after 1 s, failover timeout 5 s), in a temp dir removed on stop.
 * Resolves once the sentinels know every replica and each other, so a failover can happen.
 * A topology that does not come up is stopped and made once more on new ports: a port found free
 * can be taken by another test's server before this one binds it (the suite runs files side by
 * side), which leaves a node or sentinel gone. Both attempts' reasons are in the error.
 */
export async function startSentinelTopology(opts: TopologyOptions = {}): Promise<SentinelTopology> {
  try {
    return await startTopologyOnce(opts);
  } catch (first) {
    try {
      return await startTopologyOnce(opts);
    } catch (second) {
      throw new Error(`${(second as Error).message} (and on the first attempt, on other ports: ${(first as Error).message})`);
    }
  }
}

async function startTopologyOnce(opts: TopologyOptions): Promise<SentinelTopology> {
  if (!findRedisServer()) throw new Error('redis-server not found on PATH');
  // the nodes' data where the pools' images go (/dev/shm under the suite's runner): their AOF fsyncs
  // and a replica's resync then wait on no disk that other files keep busy (a whole suite's run,
  // with the data on disk, once saw a replica not come back online within 60 s of a failover; the
  // cause was not proven)
  const root = mkdtempSync(join(imagesDir(), 'ferry-sentinel-'));
  const master = opts.master ?? 'ferry-test';
  const appendonly = opts.appendonly ?? true;
  const mk = async (name: string): Promise<TopologyNode> => {
    const dir = join(root, name);
    mkdirSync(dir);
    return { port: await freePort(), dir, pid: 0, running: false };
  };
  const nodes: TopologyNode[] = [];
  for (let i = 0; i <= (opts.replicas ?? 2); i++) nodes.push(await mk(`node${i}`));
  const sentinels = [await mk('sentinel0'), await mk('sentinel1'), await mk('sentinel2')];
  /** the data node `sentinel` names primary, or null */
  const namedPrimary = async (sentinel: TopologyNode): Promise<TopologyNode | null> => {
    const addr = await ask(sentinel.port, (r) => r.call('SENTINEL', 'get-master-addr-by-name', master) as Promise<string[] | null>);
    return (addr && nodes.find((n) => n.port === Number(addr[1]))) ?? null;
  };
  const topo: SentinelTopology = {
    master, nodes, sentinels,
    target: { sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), master },
    async primary() {
      for (const s of sentinels.filter((n) => n.running)) {
        const node = await namedPrimary(s).catch(() => null);
        if (node) return node;
      }
      throw new Error('no sentinel names a primary');
    },
    async signal(node, sig) {
      children.get(node)?.kill(sig);
      if (sig === 'SIGKILL') await until(`pid ${node.pid} to exit`, async () => !node.running, 10_000);
    },
    async restart(node) {
      if (node.running) throw new Error(`node on port ${node.port} is running`);
      // no --replicaof: it comes back believing it is a primary, as a crashed host would; the sentinels correct it
      launch(node, dataArgs(node, null, appendonly));
      await until(`node ${node.port} to accept connections`, () => ask(node.port, async (r) => (await r.ping()) === 'PONG'), 10_000);
    },
    async failedOver(old, timeoutMs = 30_000) {
      let found: TopologyNode | null = null;
      let since = 0;
      let seen = 'no sentinel asked yet';
      await until('a failover the sentinels agree on', async () => {
        const named = await Promise.all(sentinels.filter((s) => s.running).map((s) => namedPrimary(s).catch(() => null)));
        seen = `the sentinels named ${named.map((n) => (n ? n.port : 'none')).join(', ')}`;
        const p = named[0];
        const agreed = !!p && p !== old && named.every((n) => n === p) && (await role(p))[0] === 'master';
        if (!agreed || found !== p) {
          found = agreed ? p : null;
          since = Date.now();
          return false;
        }
        return Date.now() - since >= FAILOVER_SETTLE_MS;
      }, timeoutMs, { detail: () => seen });
      return found!;
    },
    async replicasOnline(primary, count, timeoutMs = 60_000) {
      await until(`${count} replica(s) online on the primary at port ${primary.port}`, async () => {
        const info = await ask(primary.port, (r) => r.info('replication'));
        return (info.match(/^slave\d+:.*state=online/gm) ?? []).length >= count;
      }, timeoutMs, { detail: () => topo.describe() });
    },
    async describe() {
      const named = await Promise.all(sentinels.filter((s) => s.running).map((s) => namedPrimary(s).then((n) => n?.port ?? 'none', () => 'no answer')));
      const roles = await Promise.all(nodes.map(async (n) => {
        if (!n.running) return `${n.port} down`;
        const r = await role(n).catch((e: Error) => [`no answer (${e.message})`]);
        const what = r[0] === 'slave' ? `replica of ${String(r[2])} (${String(r[3])})` : r[0] === 'master' ? `primary with ${(r[2] as unknown[]).length} replica(s)` : String(r[0]);
        return `${n.port} ${what}; its log: ${logTail(n, 'redis.log')}`;
      }));
      // the failovers as one sentinel saw them: a competing or a second one shows here
      const events = logTail(sentinels[0], 'sentinel.log', 8, /[+-](odown|elected-leader|promoted-slave|switch-master|failover-abort\S*|failover-end\S*)\b/);
      return `the sentinels name ${named.join(', ')}; ${roles.join('; ')}; failovers seen by sentinel ${sentinels[0].port}: ${events}`;
    },
    async whole(timeoutMs = 60_000) {
      for (const n of nodes) if (!n.running) await topo.restart(n);
      await topo.replicasOnline(await topo.primary(), nodes.length - 1, timeoutMs);
    },
    connect(node) {
      const r = new Redis({ host: '127.0.0.1', port: node.port, maxRetriesPerRequest: 1 });
      r.on('error', () => undefined);
      return r;
    },
    async stop() {
      for (const n of [...sentinels, ...nodes]) {
        const child = children.get(n);
        if (!child || !n.running) continue;
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await until(`pid ${n.pid} to exit`, async () => !n.running, 10_000).catch(() => undefined);
        children.delete(n);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    launch(nodes[0], dataArgs(nodes[0], null, appendonly));
    for (const n of nodes.slice(1)) launch(n, dataArgs(n, nodes[0].port, appendonly));
    const exited = (n: TopologyNode, log: string) => () => (n.running ? null : `the server on port ${n.port} exited (${logTail(n, log)})`);
    for (const n of nodes) await until(`node ${n.port}`, () => ask(n.port, async (r) => (await r.ping()) === 'PONG'), 10_000, { gone: exited(n, 'redis.log') });
    await until('replicas in sync', () => ask(nodes[0].port, async (r) => /connected_slaves:(\d+)/.exec(String(await r.info('replication')))?.[1] === String(nodes.length - 1)), 20_000);
    for (const s of sentinels) {
      writeFileSync(join(s.dir, 'sentinel.conf'), [
        `port ${s.port}`, 'bind 127.0.0.1', 'daemonize no', `dir ${s.dir}`, `logfile ${join(s.dir, 'sentinel.log')}`,
        `sentinel monitor ${master} 127.0.0.1 ${nodes[0].port} 2`,
        `sentinel down-after-milliseconds ${master} 1000`,
        `sentinel failover-timeout ${master} 5000`,
        `sentinel parallel-syncs ${master} 1`, '',
      ].join('\n'));
      launch(s, [join(s.dir, 'sentinel.conf'), '--sentinel']);
    }
    for (const s of sentinels) {
      let known = 'not asked yet';
      await until(`sentinel ${s.port} to know the replicas and the other sentinels`, () => ask(s.port, async (r) => {
        const replicas = (await r.call('SENTINEL', 'replicas', master)) as unknown[];
        const others = (await r.call('SENTINEL', 'sentinels', master)) as unknown[];
        known = `it knew ${replicas.length} of ${nodes.length - 1} replicas and ${others.length} of ${sentinels.length - 1} sentinels`;
        return replicas.length === nodes.length - 1 && others.length === sentinels.length - 1;
      }), 30_000, { gone: exited(s, 'sentinel.log'), detail: () => `${known}; its log: ${logTail(s, 'sentinel.log')}` });
    }
  } catch (err) {
    await topo.stop();
    throw err;
  }
  return topo;
}
