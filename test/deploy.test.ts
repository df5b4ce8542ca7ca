// The docker-compose stack (docs/deploy.md), built and run offline: its own dockerd, stand-ins for the
// upstream images (test/deploy/standins.sh), the project's Dockerfile and docker-compose.yml as they
// are, plus an override for host networking on 127.0.0.1 (test/deploy/override.ts). Root and Linux
// only: skipped elsewhere, except under CI=true, where a skip is a failure.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { freePort } from '../src/cli/embedded-redis.js';
import { runProcess, until, type ProcessResult } from './helpers/processes.js';
import { deployPorts, overrideFile, testPrometheusConfig, type DeployPorts } from './deploy/override.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CACHE = process.env.FERRY_DEPLOY_CACHE ?? '/var/cache/ferry-deploy';
const PROMETHEUS_TAG = 'v2.53.2';
/** the master name the ha profile's sentinels monitor by default (REDIS_SENTINEL_MASTER unset: ferry's services then use REDIS_URL) */
const MASTER = 'ferry';
/** what the test needs from Debian, by the program that tells it is there */
const PACKAGES: Record<string, string> = { 'docker.io': 'dockerd', 'docker-compose': 'docker-compose', debootstrap: 'debootstrap' };

function present(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }).status === 0;
}

/** Why this machine cannot run the stack, or null; installs the missing Debian packages when it can. */
function unavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (dockerd, debootstrap)';
  const missing = Object.entries(PACKAGES).filter(([, program]) => !present(program)).map(([pkg]) => pkg);
  if (missing.length) {
    if (!present('apt-get')) return `missing ${missing.join(', ')} and no apt-get`;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) return `apt-get install ${missing.join(' ')} failed`;
  }
  return null;
}

const reason = unavailable();
if (reason && process.env.CI === 'true') throw new Error(`deploy test cannot run under CI: ${reason}`);

interface Daemon { child: ChildProcess; dir: string; host: string }

/** dockerd with its own roots, socket and pid file; no iptables, no bridge (host networking only). */
async function startDockerd(dir: string): Promise<Daemon> {
  for (const d of ['data', 'exec']) mkdirSync(join(dir, d), { recursive: true });
  const sock = join(dir, 'docker.sock');
  const log = join(dir, 'dockerd.log');
  writeFileSync(log, '');
  const child = spawn('dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--host', `unix://${sock}`,
    '--pidfile', join(dir, 'docker.pid'), '--iptables=false', '--bridge=none',
  ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
  child.stderr!.on('data', (d) => writeFileSync(log, d, { flag: 'a' }));
  const host = `unix://${sock}`;
  await until('dockerd to answer', async () => (await runProcess('docker', ['version'], { env: { DOCKER_HOST: host }, timeoutMs: 10_000 })).code === 0, 60_000, 500);
  return { child, dir, host };
}

async function stopDockerd(d: Daemon): Promise<void> {
  if (d.child.exitCode === null && d.child.signalCode === null) {
    const exited = new Promise<void>((r) => d.child.once('exit', () => r()));
    d.child.kill('SIGTERM');
    const t = setTimeout(() => d.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }
  // dockerd leaves an nsfs mount of its default network namespace behind
  const netns = join(d.dir, 'exec', 'netns', 'default');
  if (existsSync(netns)) spawnSync('umount', [netns]);
}

function check(r: ProcessResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited with ${r.code}\nstdout: ${r.stdout.slice(-4000)}\nstderr: ${r.stderr.slice(-4000)}`);
  return r.stdout;
}

describe('docker-compose stack (offline: own dockerd, stand-in base images)', { skip: reason ?? false }, () => {
  let dir: string;
  let daemon: Daemon | null = null;
  let ports: DeployPorts;
  let compose: string[];
  let env: Record<string, string>;

  const project = `ferrydeploy${process.pid}`;
  const run = (args: string[], timeoutMs = 600_000) => runProcess(compose[0], [...compose.slice(1), ...args], { env, timeoutMs });
  const docker = (args: string[], timeoutMs = 120_000) => runProcess('docker', args, { env, timeoutMs });
  // what compose acts on goes through compose (build, up, stop, restart, down); looking into the
  // stack goes through docker's own client, by compose's labels: docker-compose 1.x is Python, and
  // each of its runs cost about a CPU-second here, which the waits for health polled every second
  const container = async (service: string) => check(await docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`]), `ps ${service}`).trim().split('\n').filter(Boolean);
  const execIn = async (service: string, command: string[]) => {
    const [id] = await container(service);
    assert.ok(id, `a running container of ${service}`);
    return docker(['exec', id, ...command]);
  };
  const exec = async (service: string, command: string[], what = `${service}: ${command.join(' ')}`) => check(await execIn(service, command), what);
  const ferry = (args: string[]) => exec('serve', ['ferry', ...args, '--server', `127.0.0.1:${ports.grpc}`], `ferry ${args.join(' ')}`);

  async function waitHealthy(services: string[], timeoutMs = 180_000): Promise<void> {
    await until(`healthy ${services.join(', ')}`, async () => {
      for (const s of services) {
        for (const id of await container(s)) {
          const r = await docker(['inspect', '-f', '{{.State.Health.Status}}', id]);
          if (r.stdout.trim() !== 'healthy') return false;
        }
      }
      return true;
    }, timeoutMs, 1000);
  }

  async function promQuery(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = await res.json() as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    assert.equal(body.status, 'success', `${expr}: ${body.error}`);
    return body.data.result;
  }

  /** file path and checksum of every file under a filesystem of a dir endpoint (following the receiver's symlink) */
  const tree = (service: string, path: string) => exec(service, ['sh', '-c', `cd ${path}/ && find -L . -type f ! -path './.ferry/*' | sort | xargs sha256sum`]);

  async function lastRun(): Promise<{ id: string; state: string }> {
    const view = JSON.parse(await ferry(['job', 'show', 'demo', '--json'])) as { runs: Array<{ id: string; state: string }> };
    return view.runs[0];
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-deploy-'));
    daemon = await startDockerd(dir);
    ports = await deployPorts(freePort);
    const tokenFile = join(dir, 'ferry-token');
    writeFileSync(tokenFile, 'deploy-test-token-0123456789abcdef\n');
    // the containers' node user (uid 1000) reads the secret
    chmodSync(tokenFile, 0o644);
    writeFileSync(join(dir, 'prometheus.yml'), testPrometheusConfig(ports));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'docker-compose.test.yml'), overrideFile(ports, join(dir, 'prometheus.yml')));
    compose = (await runProcess('docker', ['compose', 'version'], { env: { DOCKER_HOST: daemon.host } })).code === 0 ? ['docker', 'compose'] : ['docker-compose'];
    env = {
      DOCKER_HOST: daemon.host, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0',
      FERRY_TOKEN_FILE_HOST: tokenFile, GRAFANA_ADMIN_PASSWORD: 'deploy-test', PROMETHEUS_TAG,
    };
    compose.push('--project-name', project, '--project-directory', ROOT, '-f', join(ROOT, 'docker-compose.yml'), '-f', join(dir, 'docker-compose.test.yml'));
    check(await runProcess('bash', [join(ROOT, 'test/deploy/standins.sh'), CACHE, PROMETHEUS_TAG], { env, timeoutMs: 600_000 }), 'stand-in images');
  });

  after(async () => {
    try {
      if (daemon) {
        const down = await run(['--profile', 'ha', 'down', '--volumes', '--rmi', 'all', '--remove-orphans', '--timeout', '20'], 300_000);
        if (down.code !== 0) process.stderr.write(`compose down: ${down.stderr}\n`);
        await stopDockerd(daemon);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compose files are valid, the ha profile included; promtool accepts the repository\'s Prometheus config and rules', async () => {
    const services = check(await run(['--profile', 'ha', 'config', '--services']), 'config --services').split('\n').filter(Boolean);
    for (const s of ['redis', 'serve', 'worker', 'agent-a', 'agent-b', 'prometheus', 'grafana', 'redis-1', 'redis-2', 'redis-3', 'sentinel-1', 'sentinel-2', 'sentinel-3']) assert.ok(services.includes(s), `service ${s} in ${services}`);
    // the repository's files as they are (not the test's), in the prometheus image, where their paths hold
    const promtool = (args: string[]) => docker(['run', '--rm', '--network', 'host', '--entrypoint', 'promtool', '-v', `${join(ROOT, 'deploy/prometheus')}:/etc/prometheus:ro`, `prom/prometheus:${PROMETHEUS_TAG}`, ...args]);
    assert.match(check(await promtool(['check', 'config', '/etc/prometheus/prometheus.yml']), 'promtool check config'), /SUCCESS/);
    assert.match(check(await promtool(['check', 'rules', '/etc/prometheus/alerts.yml']), 'promtool check rules'), /SUCCESS: \d+ rules found/);
  });

  it('builds ferry from the Dockerfile and brings the stack up healthy: production packages only, non-root, agents with zfs and btrfs tools', async () => {
    check(await run(['build'], 900_000), 'compose build');
    const up = await run(['up', '-d', 'redis', 'serve', 'worker', 'agent-a', 'agent-b', 'prometheus'], 300_000);
    // what the containers said: an unhealthy service is otherwise a bare "Container … is unhealthy"
    if (up.code !== 0) up.stderr += `\n--- docker-compose logs ---\n${(await run(['logs', '--no-color', '--tail', '40'], 60_000)).stdout}`;
    check(up, 'compose up');
    assert.equal((await container('worker')).length, 2, 'deploy.replicas: 2 workers');
    await waitHealthy(['redis', 'serve', 'worker', 'agent-a', 'agent-b', 'prometheus']);
    assert.equal((await exec('serve', ['id', '-u'])).trim(), '1000');
    assert.equal((await exec('agent-a', ['id', '-u'])).trim(), '1000');
    assert.equal((await exec('serve', ['sh', '-c', 'ls node_modules | grep -cxE "tsx|esbuild|typescript" || true'])).trim(), '0');
    assert.match(await exec('serve', ['node', '--version']), /^v24\./);
    await exec('agent-a', ['sh', '-c', 'command -v zfs && command -v zpool && command -v btrfs']);
  });

  it('runs a fan-out job through serve between the two agents to Completed; the receivers hold the sender\'s files', async () => {
    await exec('agent-a', ['sh', '-c', 'mkdir -p /data/main/home/docs && echo hello > /data/main/home/readme.txt && head -c 1048576 /dev/urandom > /data/main/home/docs/a.bin']);
    const a = `grpc://127.0.0.1:${ports.agentA}`;
    const b = `grpc://127.0.0.1:${ports.agentB}`;
    await ferry(['job', 'create', 'demo', '--sender', `${a}/dir:/data/main`, '--receiver', `${b}/dir:/data/main`, '--receiver', `${b}/dir:/data/spare`, '--snapshot-prefix', 'ferry']);
    const out = await ferry(['job', 'run', 'demo', '--wait', '--json']);
    assert.equal((JSON.parse(out.trim().split('\n').pop()!) as { state: string }).state, 'Completed');
    const sent = await tree('agent-a', '/data/main/home');
    assert.match(sent, /readme\.txt/);
    assert.equal(await tree('agent-b', '/data/main/home'), sent);
    assert.equal(await tree('agent-b', '/data/spare/home'), sent);
  });

  it('a run completes across a restart of a worker container and of the serve container', async () => {
    // the receiving agent stopped: the run waits for it (docs/health.md), so the restarts fall mid-run
    check(await run(['stop', 'agent-b']), 'stop agent-b');
    await exec('agent-a', ['sh', '-c', 'echo changed > /data/main/home/readme.txt && head -c 2097152 /dev/urandom > /data/main/home/docs/b.bin']);
    const started = JSON.parse((await ferry(['job', 'run', 'demo', '--json'])).trim()) as { runId: string; started: boolean };
    assert.ok(started.started);
    await until('the invocation to be under way', async () => (await lastRun()).id === started.runId, 30_000, 500);
    const [worker] = await container('worker');
    check(await docker(['restart', '--time', '30', worker]), 'restart worker');
    check(await run(['restart', '--timeout', '30', 'serve']), 'restart serve');
    await waitHealthy(['serve', 'worker']);
    assert.notEqual((await lastRun()).state, 'Completed', 'still waiting for agent-b');
    check(await run(['start', 'agent-b']), 'start agent-b');
    const done = await until('the invocation to end', async () => {
      const r = await lastRun();
      return ['Completed', 'PermanentError'].includes(r.state) && r;
    }, 240_000, 1000);
    assert.equal(done.id, started.runId);
    assert.equal(done.state, 'Completed');
    const sent = await tree('agent-a', '/data/main/home');
    assert.match(sent, /b\.bin/);
    assert.equal(await tree('agent-b', '/data/main/home'), sent);
    assert.equal(await tree('agent-b', '/data/spare/home'), sent);
  });

  it('Prometheus has ferry_ series and the alert rules, evaluated; every dashboard panel\'s query returns data', async () => {
    // scraped after the run: the job's last success is there
    await until('a scrape with the job\'s last success', async () => (await promQuery('ferry_last_success_timestamp_seconds{ferry_job="demo"}')).length > 0, 60_000, 1000);
    for (const name of ['ferry_transitions_total', 'ferry_replicated_bytes_total', 'ferry_replication_lag_seconds', 'ferry_queue_jobs', 'ferry_runs_in_flight', 'ferry_target_healthy']) {
      assert.ok((await promQuery(name)).length > 0, `${name} in Prometheus`);
    }
    const up = await promQuery('up{job=~"ferry-.*"}');
    assert.equal(up.length, 3, 'serve and two agents scraped');
    await until('every agent and serve up', async () => (await promQuery('min(up{job=~"ferry-.*"})'))[0]?.value[1] === '1', 60_000, 1000);

    const rules = await (await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/rules`)).json() as { data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; state: string; lastError?: string; lastEvaluation: string }> }> } };
    const ferryRules = rules.data.groups.find((g) => g.name === 'ferry')?.rules ?? [];
    const names = ferryRules.map((r) => r.name);
    for (const n of ['FerryJobNotSucceeding', 'FerryPermanentError', 'FerryAgentUnhealthy', 'FerryArchiverGap', 'FerryPartitionFailed']) assert.ok(names.includes(n), `rule ${n} loaded: ${names}`);
    for (const r of ferryRules) {
      assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
      assert.ok(!r.lastEvaluation.startsWith('0001'), `${r.name} evaluated`);
    }
    const state = (n: string) => ferryRules.find((r) => r.name === n)!.state;
    for (const n of ['FerryJobNotSucceeding', 'FerryPermanentError', 'FerryArchiverGap', 'FerryPartitionFailed']) assert.equal(state(n), 'inactive', n);

    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/ferry.json'), 'utf8')) as { panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string }> }> };
    assert.ok(dashboard.panels.length >= 8);
    // the panels name the data source Grafana is provisioned with
    const provisioned = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string; url: string }> };
    assert.equal(provisioned.datasources[0].url, 'http://prometheus:9090');
    for (const p of dashboard.panels) {
      assert.equal(p.datasource.uid, provisioned.datasources[0].uid, `panel "${p.title}"'s data source`);
      for (const t of p.targets) {
        // Grafana's variables, as it would fill them in
        const expr = t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$__interval', '15s');
        assert.ok((await promQuery(expr)).length > 0, `panel "${p.title}": no data for ${expr}`);
      }
    }
  });

  it('profile ha: three Redis (one primary, two replicas) and three Sentinels reach quorum', async () => {
    check(await run(['--profile', 'ha', 'up', '-d', 'redis-1', 'redis-2', 'redis-3', 'sentinel-1', 'sentinel-2', 'sentinel-3'], 300_000), 'compose up (ha)');
    await waitHealthy(['redis-1', 'redis-2', 'redis-3', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
    await until('two replicas connected to the primary', async () => /connected_slaves:2/.test(await exec('redis-1', ['redis-cli', '-p', String(ports.redis1), 'info', 'replication'])), 60_000, 1000);
    const quorum = await until('the Sentinels to see one another', async () => {
      const r = await execIn('sentinel-1', ['redis-cli', '-p', String(ports.sentinel1), 'sentinel', 'ckquorum', MASTER]);
      return /^OK 3 usable Sentinels/.test(r.stdout) && r.stdout;
    }, 90_000, 1000);
    assert.match(quorum, /Quorum and failover authorization can be reached/);
    const primary = await exec('sentinel-2', ['redis-cli', '-p', String(ports.sentinel2), 'sentinel', 'get-master-addr-by-name', MASTER]);
    assert.deepEqual(primary.trim().split('\n'), ['127.0.0.1', String(ports.redis1)]);
  });
});
