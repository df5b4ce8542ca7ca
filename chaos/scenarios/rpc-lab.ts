import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosEnv } from '../env.js';
import type { FerryProcess } from '../processes.js';
import type { Rng } from '../random.js';
import { FuzzClient, loadService, type Auth, type MethodDef, type Outcome } from '../grpc-client.js';

/**
 * The gRPC targets of rpc-auth and rpc-fuzz: a `ferry agent` (one --allow dir endpoint, a
 * --log-root, a canary directory next to them) and a `ferry serve --grpc`, and what each of their
 * methods is fed: a valid request and, per field, hostile values.
 */

/** how long a call may take to get an answer */
export const DEADLINE_MS = 10_000;
const HUGE = 'x'.repeat(200_000);

export interface RpcTarget {
  target: Target;
  service: Record<string, MethodDef>;
  plans: Record<string, Plan>;
}

/** Starts both servers; the lab's directories are under env.dir. */
export async function startTargets(env: ChaosEnv): Promise<{ lab: Lab; targets: RpcTarget[]; close(): void }> {
  const lab = makeLab(env.dir);
  const agent = new Target(env, 'agent', () => ['agent', '--listen', '127.0.0.1:0', '--allow', `dir:${lab.allowed}`, '--log-root', lab.wal, '--token-file', env.tokenFile], /agent on grpc:\/\/(\S+)/);
  const serve = new Target(env, 'serve', () => ['--key-prefix', env.prefix, 'serve', '--grpc', '127.0.0.1:0', '--token-file', env.tokenFile, '--no-metrics'], /orchestrator on grpc:\/\/(\S+)/);
  await agent.start();
  await serve.start();
  const targets = [
    { target: agent, service: loadService('ferry/v1/endpoint.proto', 'ferry.v1.Endpoint'), plans: endpointPlans(lab) },
    { target: serve, service: loadService('ferry/v1/orchestrator.proto', 'ferry.v1.Orchestrator'), plans: orchestratorPlans(lab) },
  ];
  return { lab, targets, close: () => { agent.close(); serve.close(); } };
}

export type { Auth, MethodDef, Outcome };

/** A ferry server process under fuzzing; started again (on a new port) when it dies. */
export class Target {
  private proc: FerryProcess | null = null;
  private client: FuzzClient | null = null;

  constructor(private readonly env: ChaosEnv, readonly name: string, private readonly args: () => string[], private readonly ready: RegExp) {}

  get alive(): boolean {
    return !!this.proc?.alive;
  }

  async start(): Promise<void> {
    this.client?.close();
    this.proc = this.env.procs.spawn(this.name, this.args(), this.env.ferryEnv);
    const line = await this.proc.waitFor(this.ready, 120_000);
    this.client = new FuzzClient(this.ready.exec(line)![1], DEADLINE_MS);
  }

  private restarting: Promise<void> | null = null;

  /** Starts it again after it died (once, however many calls saw it dead). */
  restart(): Promise<void> {
    if (this.alive) return Promise.resolve();
    return (this.restarting ??= this.start().finally(() => (this.restarting = null)));
  }

  call(m: MethodDef, messages: Array<object | Buffer>, auth: Auth, opts: { cancelAfterWrites?: boolean; maxMessages?: number; deadlineMs?: number }): Promise<Outcome> {
    return this.client!.call(m, messages, auth, opts);
  }

  close(): void {
    this.client?.close();
  }
}

// ---- the directories ------------------------------------------------------------------------

export interface Lab {
  /** the agent's --allow dir endpoint root (one filesystem `fs0` with a snapshot) */
  allowed: string;
  /** the agent's --log-root */
  wal: string;
  /** a canary next to them: nothing may change here */
  outside: string;
  /** paths the orchestrator's jobs may name (never run) */
  serveDir: string;
  root: string;
}

function makeLab(dir: string): Lab {
  const root = join(dir, 'agent');
  const lab = { root, allowed: join(root, 'allowed'), wal: join(root, 'wal'), outside: join(root, 'outside'), serveDir: join(dir, 'serve') };
  mkdirSync(join(lab.allowed, 'fs0', 'sub'), { recursive: true });
  writeFileSync(join(lab.allowed, 'fs0', 'sub', 'a.txt'), 'allowed data\n');
  mkdirSync(join(lab.wal, 'st0', 'p0', 'entries'), { recursive: true });
  writeFileSync(join(lab.wal, 'st0', 'p0', 'committed'), '0\n');
  for (const d of ['fs0', 'passwd', 'st0/p0', '.ferry/snapshots/fs0']) {
    mkdirSync(join(lab.outside, d), { recursive: true });
    writeFileSync(join(lab.outside, d, 'canary'), `canary ${d}\n`);
  }
  mkdirSync(lab.serveDir, { recursive: true });
  return lab;
}

/** path -> kind, mode, size, mtime and content digest of everything under the lab root but the allowed dirs */
export function listOutside(lab: Lab): Map<string, string> {
  const out = new Map<string, string>();
  const skip = new Set([lab.allowed, lab.wal]);
  const walk = (p: string) => {
    for (const name of readdirSync(p)) {
      const abs = join(p, name);
      if (skip.has(abs)) continue;
      const st = lstatSync(abs);
      const digest = st.isFile() ? createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16) : '';
      out.set(abs, `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${digest}`);
      if (st.isDirectory()) walk(abs);
    }
  };
  walk(lab.root);
  if (existsSync(join(lab.root, '..'))) for (const name of readdirSync(join(lab.root, '..'))) out.set(`top:${name}`, '');
  return out;
}

export function diffListings(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (!b.has(k)) out.push(`removed ${k}`); else if (b.get(k) !== v) out.push(`changed ${k}`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`created ${k}`);
  return out;
}

// ---- what each method is fed ------------------------------------------------------------------

type Value = string | number | boolean | string[] | Record<string, unknown>;

export interface Plan {
  /** a valid request */
  base(): Record<string, unknown>;
  /** field path (a.b) -> hostile values */
  fields: Record<string, Value[]>;
  /** client-stream sequences */
  sequences?(m: MethodDef): Array<{ what: string; messages: Array<object | Buffer>; cancel?: boolean }>;
}

const STRINGS: Value[] = ['', '\0', 'a\0b', HUGE, '%s%n%x', 'é∂ƒ\u202e', '-rf', '.', '..', ' ', 'a'.repeat(256), 'line\nbreak'];
const INT64: Value[] = ['0', '-1', '9007199254740993', '9223372036854775807', '-9223372036854775808'];
const UINT32: Value[] = [0, 1, 4294967295];

export function withField(base: object, path: string, value: Value): object {
  const copy = structuredClone(base) as Record<string, unknown>;
  const parts = path.split('.');
  let node = copy;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
  node[parts.at(-1)!] = value;
  return copy;
}

/** a random value of the same type as `like` (no '/' in strings: random input never climbs out of the temp dir) */
export function randomLike(rng: Rng, like: Value): Value {
  if (typeof like === 'number') return rng.int(0, 2 ** 32 - 1);
  if (typeof like === 'boolean') return rng.chance(0.5);
  if (Array.isArray(like)) return Array.from({ length: rng.int(0, 4) }, () => rng.string(rng.int(0, 40), 'abc.-_:\0 é'));
  if (typeof like === 'object') return {};
  if (/^-?\d+$/.test(like)) return String(rng.int(-(2 ** 31), 2 ** 31));
  return rng.string(rng.int(0, rng.chance(0.1) ? 5000 : 60), 'abcdefghij0123456789.-_:\0 \\é%');
}

function endpointPlans(lab: Lab): Record<string, Plan> {
  const ep = `dir:${lab.allowed}`;
  const ENDPOINTS: Value[] = [...STRINGS, `dir:${lab.outside}`, `dir:${lab.allowed}/../outside`, `dir:${lab.allowed}/..`, 'dir:relative/path', `btrfs:${lab.outside}`, 'zfs:nopool/x', 'grpc://127.0.0.1:1/x', `dir:${lab.allowed}\0`];
  const FS: Value[] = [...STRINGS, '../outside', '../outside/fs0', 'fs0/../../outside', lab.outside, `${lab.outside}/fs0`, 'fs0/sub', '.ferry', 'fs0\0'];
  const NAMES: Value[] = [...STRINGS, '../../../outside/.ferry/snapshots/fs0', '../canary', 'canary', '.ferry'];
  const LOGNAMES: Value[] = [...STRINGS, '../outside', '..', 'st0/../../outside', lab.outside];
  const version = { name: 's1', guid: '1', createtxg: '1' };
  const VERSIONS: Value[] = [{}, { name: '../x', guid: '\0', createtxg: '-9223372036854775808' }, { name: HUGE, guid: HUGE, createtxg: '9223372036854775807' }, { name: 's1', guid: 'nope', createtxg: '-1' }];
  return {
    ListFilesystems: { base: () => ({ endpoint: ep }), fields: { endpoint: ENDPOINTS } },
    ListVersions: { base: () => ({ endpoint: ep, filesystem: 'fs0' }), fields: { endpoint: ENDPOINTS, filesystem: FS } },
    Snapshot: { base: () => ({ endpoint: ep, filesystems: ['fs0'], name: 'fz' }), fields: { endpoint: ENDPOINTS, filesystems: FS.map((f) => [f as string]), name: NAMES } },
    DestroySnapshot: { base: () => ({ endpoint: ep, filesystem: 'fs0', name: 'nosuch' }), fields: { endpoint: ENDPOINTS, filesystem: FS, name: NAMES } },
    Send: { base: () => ({ endpoint: ep, filesystem: 'fs0', to: version }), fields: { endpoint: ENDPOINTS, filesystem: FS, from: VERSIONS, to: VERSIONS, resumeToken: STRINGS } },
    ResumeToken: { base: () => ({ endpoint: ep, filesystem: 'fs0' }), fields: { endpoint: ENDPOINTS, filesystem: FS } },
    ListPartitions: { base: () => ({}), fields: {} },
    GetPartition: { base: () => ({ storage: 'st0', partition: 'p0' }), fields: { storage: LOGNAMES, partition: LOGNAMES } },
    ReadEntry: { base: () => ({ storage: 'st0', partition: 'p0', lsn: '1' }), fields: { storage: LOGNAMES, partition: LOGNAMES, lsn: INT64 } },
    Acknowledge: { base: () => ({ storage: 'st0', partition: 'p0', consumer: 'chaos', lsn: '0' }), fields: { storage: LOGNAMES, partition: LOGNAMES, consumer: LOGNAMES, lsn: INT64 } },
    Prune: { base: () => ({ storage: 'st0', partition: 'p0' }), fields: { storage: LOGNAMES, partition: LOGNAMES } },
    Receive: {
      base: () => ({ header: { endpoint: ep, filesystem: 'fz' } }),
      fields: { 'header.endpoint': ENDPOINTS, 'header.filesystem': FS },
      sequences: (m) => {
        const enc = (v: object) => m.requestSerialize(v);
        const header = enc({ header: { endpoint: ep, filesystem: 'fz' } });
        const chunk = (b: Buffer) => enc({ chunk: b });
        const garbage = Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x12, 0x99]);
        return [
          { what: 'no message', messages: [] },
          { what: 'chunk first', messages: [chunk(Buffer.from('data'))] },
          { what: 'two headers', messages: [header, header] },
          { what: 'header then undecodable bytes', messages: [header, garbage] },
          { what: 'header then garbage chunks', messages: [header, chunk(Buffer.alloc(70_000, 7)), chunk(Buffer.from('{"not":"a stream"}'))] },
          { what: 'header then 8 MiB of zeros', messages: [header, ...Array.from({ length: 8 }, () => chunk(Buffer.alloc(1 << 20)))] },
          { what: 'header, chunk, cancel', messages: [header, chunk(Buffer.alloc(4096, 1))], cancel: true },
          { what: 'traversal header then chunk', messages: [enc({ header: { endpoint: ep, filesystem: '../outside' } }), chunk(Buffer.alloc(16))] },
          { what: 'header with NUL then chunk', messages: [enc({ header: { endpoint: ep, filesystem: 'fz\0x' } }), chunk(Buffer.alloc(16))] },
          { what: 'undecodable first message', messages: [garbage] },
        ];
      },
    },
  };
}

function orchestratorPlans(lab: Lab): Record<string, Plan> {
  const d = lab.serveDir;
  // jobs are created without a schedule and never run by name: these endpoints are never replicated
  const ENDPOINTS: Value[] = [...STRINGS, `dir:${d}/a`, `dir:${d}/../serve`, 'dir:relative', 'grpc://127.0.0.1:1/x', `dir:${d}/a\0`];
  const spec = () => ({ name: 'fz-job', sender: `dir:${d}/a`, receivers: [`dir:${d}/b`], initial: 'all', concurrency: 1 });
  return {
    CreateJob: {
      base: () => ({ spec: spec() }),
      fields: {
        'spec.name': STRINGS, 'spec.sender': ENDPOINTS, 'spec.receivers': ENDPOINTS.map((e) => [e as string]),
        'spec.filesystems': STRINGS, 'spec.includeSnapshots': [...STRINGS, '(a+)+$', '['], 'spec.excludeSnapshots': [...STRINGS, '(?<'],
        'spec.initial': STRINGS, 'spec.concurrency': UINT32, 'spec.snapshotPrefix': STRINGS,
        'spec.retry': [{ initialMs: 0, maxMs: 0, maxAttempts: 0 }, { initialMs: 4294967295, maxMs: 1, maxAttempts: 4294967295 }],
      },
    },
    GetJob: { base: () => ({ name: 'fz-job' }), fields: { name: STRINGS } },
    ListJobs: { base: () => ({}), fields: {} },
    DeleteJob: { base: () => ({ name: 'nx-job' }), fields: { name: STRINGS } },
    RunJob: { base: () => ({ name: 'nx-job' }), fields: { name: STRINGS.map((s) => `nx-${s as string}`) } },
    SignalJob: { base: () => ({ name: 'nx-job', signal: 'wakeup' }), fields: { name: STRINGS.map((s) => `nx-${s as string}`), signal: STRINGS } },
    GetRun: { base: () => ({ id: 'nx-run' }), fields: { id: [...STRINGS, '../x', '*', 'chaos:*'] } },
    ListRuns: { base: () => ({ limit: 5 }), fields: { job: STRINGS, limit: UINT32 } },
    ListTargets: { base: () => ({}), fields: {} },
    NotifyLogEntries: {
      base: () => ({ log: join(d, 'nolog'), sink: `file://${d}/sink` }),
      fields: { log: [...STRINGS, join(d, 'nolog'), 'grpc://127.0.0.1:1'], sink: [...STRINGS, 'file://relative', `file://${d}/sink/../sink2`, 's3://b/p?endpoint=http://127.0.0.1:1'] },
    },
    GetPartition: { base: () => ({ storage: 'st0', partition: 'p0' }), fields: { storage: STRINGS, partition: STRINGS } },
    ListPartitions: { base: () => ({}), fields: {} },
    WatchTransitions: { base: () => ({ afterId: '0' }), fields: { kinds: [['\0'], [HUGE]], machineIds: [['../x'], [HUGE]], afterId: [...STRINGS, '18446744073709551615-99', '0-0', '-'] } },
  };
}
