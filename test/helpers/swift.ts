import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * A real OpenStack Swift (proxy + account + container + object servers, s3api + tempauth) and a
 * memcached for the proxy, on free 127.0.0.1 ports, everything in one temp dir. Nothing in
 * /etc/swift is read or written, and no distribution service is used: the servers are started
 * here, as the current user, by pid, and `stop()` ends exactly those pids.
 *
 * Debian packages: swift swift-proxy swift-object swift-container swift-account memcached.
 */

export const SWIFT_PACKAGES = ['swift', 'swift-proxy', 'swift-object', 'swift-container', 'swift-account', 'memcached'];

/** tempauth's user (account "test", user "tester") is the S3 access key; its password is the secret key */
export const SWIFT_ACCESS_KEY = 'test:tester';
export const SWIFT_SECRET_KEY = 'testing';
export const SWIFT_REGION = 'us-east-1';

const PROGRAMS = ['swift-proxy-server', 'swift-account-server', 'swift-container-server', 'swift-object-server', 'swift-ring-builder', 'memcached'];
type ServerKind = 'proxy-server' | 'account-server' | 'container-server' | 'object-server';
type ProcessName = ServerKind | 'memcached';

export interface SwiftServer {
  /** the S3 endpoint, e.g. http://127.0.0.1:40123 */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** a bucket created at start */
  readonly bucket: string;
  /** the temp dir holding configs, rings, devices */
  readonly dir: string;
  /** an s3:// sink URL in `bucket` (or another bucket) with this server's endpoint and credentials */
  sinkUrl(prefix: string, opts?: { bucket?: string; accessKey?: string; secretKey?: string }): string;
  createBucket(name: string): Promise<void>;
  /** stops the proxy only (SIGTERM, then SIGKILL): the S3 port refuses connections */
  stopProxy(): Promise<void>;
  /** starts the proxy again on the same port and waits until it answers */
  startProxy(): Promise<void>;
  /** SIGSTOP/SIGCONT of the proxy: its port accepts connections but nothing answers */
  pauseProxy(): void;
  resumeProxy(): void;
  /** pids of the processes this harness runs now */
  pids(): number[];
  /** the last log lines of the servers (for failure messages) */
  logTail(lines?: number): string;
  /** ends every process it started (by pid) and removes the temp dir */
  stop(): Promise<void>;
}

function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

/** null when Swift can be run here; otherwise why not (the packages to install). */
export function swiftUnavailableReason(): string | null {
  const missing = PROGRAMS.filter((p) => !findProgram(p));
  if (missing.length) {
    return `OpenStack Swift is not installed (missing ${missing.join(', ')}): apt-get install -y ${SWIFT_PACKAGES.join(' ')}`;
  }
  return null;
}

/** The Python that runs Swift (the shebang of swift-proxy-server; not whatever python3 is first on PATH). */
function swiftPython(): string {
  const script = findProgram('swift-proxy-server');
  if (!script) throw new Error(swiftUnavailableReason() ?? 'swift-proxy-server not found');
  const first = readFileSync(script, 'utf8').split('\n', 1)[0];
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
  if (!m) return '/usr/bin/python3';
  // "#!/usr/bin/env python3" → python3 on PATH
  return m[1].endsWith('/env') && m[2] ? (findProgram(m[2]) ?? m[2]) : m[1];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function httpStatus(port: number, path: string, timeoutMs = 1000): Promise<number | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Runs a Swift server (or, with `exec`, any program) so that it dies with this process even on
 * SIGKILL (PR_SET_PDEATHSIG), and reads swift.conf from the temp dir instead of /etc/swift.
 * With workers = 0 a Swift server is one process: the pid we spawn is the server.
 */
const LAUNCHER = `
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != int(os.environ.get('FERRY_SWIFT_PARENT', '0')):
    os._exit(1)  # the test process is already gone
kind = sys.argv[1]
if kind == 'exec':
    os.execvp(sys.argv[2], sys.argv[2:])
if kind == 'rings':
    import json
    from swift.common.ring import RingBuilder
    for r in json.loads(sys.argv[3]):
        b = RingBuilder(6, 1, 0)
        b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': r['port'], 'device': 'd1', 'weight': 100})
        b.rebalance()
        b.save(os.path.join(sys.argv[2], r['ring'] + '.builder'))
        b.get_ring().save(os.path.join(sys.argv[2], r['ring'] + '.ring.gz'))
    sys.exit(0)
swift_dir, conf = sys.argv[2], sys.argv[3]
from swift.common import utils
utils.set_swift_dir(swift_dir)
from swift.common.storage_policy import reload_storage_policies
reload_storage_policies()
from swift.common.wsgi import run_wsgi
kwargs = {}
if kind == 'object-server':
    from swift.obj import server
    kwargs['global_conf_callback'] = server.global_conf_callback
sys.exit(run_wsgi(conf, kind, **kwargs))
`;

function serverConf(kind: ServerKind, o: { dir: string; port: number; user: string; logPort: number; memcachePort: number }): string {
  const common = [
    '[DEFAULT]',
    'bind_ip = 127.0.0.1',
    `bind_port = ${o.port}`,
    'workers = 0',
    `user = ${o.user}`,
    `swift_dir = ${o.dir}`,
    `devices = ${join(o.dir, 'devices')}`,
    'mount_check = false',
    'disable_fallocate = true',
    `log_name = ${kind}`,
    // logs go to the harness (a UDP socket it reads), not to the machine's syslog
    'log_udp_host = 127.0.0.1',
    `log_udp_port = ${o.logPort}`,
    'log_level = INFO',
    '',
  ];
  const healthcheck = ['[filter:healthcheck]', 'use = egg:swift#healthcheck', ''];
  switch (kind) {
    case 'account-server':
    case 'container-server':
    case 'object-server': {
      const egg = kind.replace('-server', '');
      return [...common, '[pipeline:main]', `pipeline = healthcheck ${kind}`, '', `[app:${kind}]`, `use = egg:swift#${egg}`, '', ...healthcheck].join('\n');
    }
    case 'proxy-server':
      return [
        ...common,
        '[pipeline:main]',
        'pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server',
        '',
        '[app:proxy-server]',
        'use = egg:swift#proxy',
        'account_autocreate = true',
        // a dead backend is noticed fast: the harness stops only the proxy, but keep timeouts short anyway
        'conn_timeout = 1',
        'node_timeout = 5',
        '',
        '[filter:s3api]',
        'use = egg:swift#s3api',
        `location = ${SWIFT_REGION}`,
        '',
        '[filter:tempauth]',
        'use = egg:swift#tempauth',
        `user_${SWIFT_ACCESS_KEY.replace(':', '_')} = ${SWIFT_SECRET_KEY} .admin`,
        '',
        // tempauth needs a memcache client in the request (it raises "Memcache required" otherwise)
        '[filter:cache]',
        'use = egg:swift#memcache',
        `memcache_servers = 127.0.0.1:${o.memcachePort}`,
        '',
        ...healthcheck,
        ...['catch_errors', 'gatekeeper', 'listing_formats', 'copy', 'slo', 'dlo', 'versioned_writes'].flatMap((f) => [`[filter:${f}]`, `use = egg:swift#${f}`, '']),
        '[filter:proxy-logging]',
        'use = egg:swift#proxy_logging',
        '',
      ].join('\n');
  }
}

export async function startSwift(opts: { bucket?: string } = {}): Promise<SwiftServer> {
  const reason = swiftUnavailableReason();
  if (reason) throw new Error(reason);
  const python = swiftPython();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-swift-'));
  const user = userInfo().username;
  const children = new Map<ProcessName, ChildProcess>();
  const logs: string[] = [];
  const remember = (line: string): void => {
    logs.push(line);
    if (logs.length > 400) logs.splice(0, logs.length - 200);
  };
  let udp: UdpSocket | null = null;
  let stopped = false;

  const [proxyPort, accountPort, containerPort, objectPort, memcachePort, logPort] = await distinctFreePorts(6);
  const endpoint = `http://127.0.0.1:${proxyPort}`;
  const bucket = opts.bucket ?? `ferry-${randomBytes(4).toString('hex')}`;
  const ports: Record<ServerKind, number> = {
    'proxy-server': proxyPort, 'account-server': accountPort, 'container-server': containerPort, 'object-server': objectPort,
  };

  function launch(name: ProcessName, args: string[]): ChildProcess {
    const child = spawn(python, [join(dir, 'launch.py'), ...args], {
      cwd: dir,
      env: { ...process.env, FERRY_SWIFT_PARENT: String(process.pid), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (d: Buffer): void => {
      for (const line of d.toString().split('\n')) if (line.trim()) remember(`${name}: ${line}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => remember(`${name}: exited (${signal ?? code})`));
    children.set(name, child);
    return child;
  }

  function startServer(kind: ServerKind): ChildProcess {
    return launch(kind, [kind, dir, join(dir, `${kind}.conf`)]);
  }

  async function waitHealthy(kind: ServerKind, timeoutMs = 30_000): Promise<void> {
    const child = children.get(kind)!;
    const deadline = Date.now() + timeoutMs;
    while ((await httpStatus(ports[kind], '/healthcheck')) !== 200) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`swift ${kind} exited before it answered:\n${tail(40)}`);
      }
      if (Date.now() > deadline) throw new Error(`swift ${kind} did not answer on port ${ports[kind]} within ${timeoutMs} ms:\n${tail(40)}`);
      await sleep(50);
    }
  }

  async function kill(name: ProcessName): Promise<void> {
    const child = children.get(name);
    if (!child) return;
    children.delete(name);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try { process.kill(child.pid!, 'SIGCONT'); } catch { /* gone */ }
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(t);
  }

  function tail(n = 60): string {
    return logs.slice(-n).join('\n');
  }

  const client = (): S3Client => new S3Client({
    endpoint, region: SWIFT_REGION, forcePathStyle: true, maxAttempts: 1,
    credentials: { accessKeyId: SWIFT_ACCESS_KEY, secretAccessKey: SWIFT_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  });

  async function createBucket(name: string): Promise<void> {
    const s3 = client();
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await s3.send(new CreateBucketCommand({ Bucket: name }));
          return;
        } catch (err) {
          const code = (err as { name?: string }).name;
          if (code === 'BucketAlreadyOwnedByYou') return;
          // the backends may still be settling right after start
          if (Date.now() > deadline) throw new Error(`could not create bucket ${name}: ${String(err)}\n${tail(40)}`);
          await sleep(200);
        }
      }
    } finally {
      s3.destroy();
    }
  }

  /**
   * One device, one replica, partition power 6 (fast to build, enough for tests), for each ring.
   * Built with Swift's RingBuilder (the library behind swift-ring-builder) in one Python process:
   * the nine swift-ring-builder invocations this replaces took 3-5 s on two busy cores.
   */
  async function buildRings(): Promise<void> {
    const spec = (['account', 'container', 'object'] as const).map((ring) => ({ ring, port: ports[`${ring}-server`] }));
    await new Promise<void>((resolve, reject) => {
      const p = spawn(python, [join(dir, 'launch.py'), 'rings', dir, JSON.stringify(spec)], {
        cwd: dir, env: { ...process.env, FERRY_SWIFT_PARENT: String(process.pid) }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d) => { out += d; });
      p.stderr.on('data', (d) => { out += d; });
      p.once('error', reject);
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`building the Swift rings failed (${code}): ${out}`))));
    });
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await Promise.all([...children.keys()].map((n) => kill(n)));
    udp?.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const t0 = Date.now();
  try {
    // logs: Swift sends syslog-format lines over UDP; keep the last ones for failure messages
    udp = createSocket('udp4');
    udp.on('message', (m) => remember(m.toString().replace(/^<\d+>/, '').trimEnd()));
    await new Promise<void>((resolve, reject) => {
      udp!.once('error', reject);
      udp!.bind(logPort, '127.0.0.1', () => resolve());
    });
    udp.unref();

    writeFileSync(join(dir, 'launch.py'), LAUNCHER);
    writeFileSync(join(dir, 'swift.conf'), [
      '[swift-hash]',
      `swift_hash_path_suffix = ${randomBytes(8).toString('hex')}`,
      'swift_hash_path_prefix = ferry-test',
      '',
      '[storage-policy:0]',
      'name = Policy-0',
      'default = yes',
      '',
    ].join('\n'));
    mkdirSync(join(dir, 'devices', 'd1'), { recursive: true });
    for (const kind of Object.keys(ports) as ServerKind[]) {
      writeFileSync(join(dir, `${kind}.conf`), serverConf(kind, { dir, port: ports[kind], user, logPort, memcachePort }));
    }

    const memcachedArgs = ['exec', findProgram('memcached')!, '-l', '127.0.0.1', '-p', String(memcachePort), '-U', '0', '-m', '16'];
    if (process.getuid?.() === 0) memcachedArgs.push('-u', 'root');
    const mc = launch('memcached', memcachedArgs);
    // the account, container and object servers do not read the rings: start them while the rings are built
    for (const kind of ['account-server', 'container-server', 'object-server'] as ServerKind[]) startServer(kind);
    await buildRings();
    remember(`harness: rings built after ${Date.now() - t0} ms`);
    startServer('proxy-server');

    const deadline = Date.now() + 30_000;
    while (!(await tcpOpen(memcachePort))) {
      if (mc.exitCode !== null) throw new Error(`memcached exited:\n${tail(20)}`);
      if (Date.now() > deadline) throw new Error(`memcached did not listen on ${memcachePort}:\n${tail(20)}`);
      await sleep(50);
    }
    await Promise.all((Object.keys(ports) as ServerKind[]).map((k) => waitHealthy(k)));
    await createBucket(bucket);
    remember(`harness: ready with bucket ${bucket} after ${Date.now() - t0} ms`);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    endpoint,
    region: SWIFT_REGION,
    accessKey: SWIFT_ACCESS_KEY,
    secretKey: SWIFT_SECRET_KEY,
    bucket,
    dir,
    sinkUrl(prefix, o = {}) {
      const q = new URLSearchParams({
        endpoint, region: SWIFT_REGION, access_key: o.accessKey ?? SWIFT_ACCESS_KEY, secret_key: o.secretKey ?? SWIFT_SECRET_KEY,
      });
      const path = prefix.split('/').map(encodeURIComponent).join('/');
      return `s3://${o.bucket ?? bucket}${path ? `/${path}` : ''}?${q}`;
    },
    createBucket,
    async stopProxy() {
      await kill('proxy-server');
    },
    async startProxy() {
      if (children.has('proxy-server')) throw new Error('the proxy is running');
      startServer('proxy-server');
      await waitHealthy('proxy-server');
    },
    pauseProxy() {
      const c = children.get('proxy-server');
      if (c?.pid) process.kill(c.pid, 'SIGSTOP');
    },
    resumeProxy() {
      const c = children.get('proxy-server');
      if (c?.pid) process.kill(c.pid, 'SIGCONT');
    },
    pids: () => [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid!),
    logTail: tail,
    stop,
  };
}
