import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendEntry, commit, registerConsumer } from '../src/archiver/log-source/index.js';
import { startAgent, type Agent } from '../src/api/agent-server.js';
import { startOrchestratorServer, type OrchestratorServer } from '../src/api/orchestrator-server.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { mergeRegistries } from '../src/engine/merge-registries.js';
import { jobRegistry } from '../src/jobs/registry.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { JobStore } from '../src/jobs/store.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { LocalOrchestrator } from '../src/service/local-orchestrator.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { createLogger } from '../src/util/logger.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { startTestRedis } from './helpers/redis.js';
import { runProcess } from './helpers/processes.js';
import { tempDir } from './helpers/replication.js';

/**
 * The API as clients that are not ferry's see it: proto/ passes `buf lint`, compiles as a whole with
 * protoc (a second compiler, not protobufjs) into modules a Python client imports together, and both
 * servers describe themselves through gRPC server reflection to a Python client that knows no
 * ferry .proto (test/clients/grpc_reflect.py), which then calls a method it found that way.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PROTO = join(ROOT, 'proto');
/** Debian's python3, which python3-grpcio and python3-grpc-tools install into (scripts/setup.sh --test) */
const PYTHON = '/usr/bin/python3';
const TOKEN = 'proto-compat-token-0123456789';

function protoFiles(dir = PROTO): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? protoFiles(join(dir, e.name)) : e.name.endsWith('.proto') ? [relative(PROTO, join(dir, e.name))] : [])).sort();
}

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: o.cwd ?? ROOT, env: o.env ?? process.env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Why the Python tools are missing, or null; under CI=true they must be there (no skip). */
function pythonToolsMissing(): string | null {
  const r = run(PYTHON, ['-c', 'import grpc, grpc_tools.protoc']);
  if (r.status === 0) return null;
  const why = `${PYTHON} lacks grpc or grpc_tools (apt-get install python3-grpcio python3-grpc-tools): ${r.stderr.trim().split('\n').pop()}`;
  if (process.env.CI === 'true') throw new Error(why);
  return why;
}

/** protoc (python3-grpc-tools) over `files` under `includeDir`, with extra arguments. */
function protoc(includeDir: string, files: string[], args: string[]) {
  return run(PYTHON, ['-m', 'grpc_tools.protoc', '-I', includeDir, ...args, ...files]);
}

describe('the API to clients that are not ferry\'s', () => {
  const skip = pythonToolsMissing() ?? false;
  let d: ReturnType<typeof tempDir>;
  let reflectionSet: string;

  before(() => {
    d = tempDir('proto-compat');
    if (skip) return;
    // the reflection protocol's own messages, from gRPC's reflection.proto, for the Python client
    reflectionSet = join(d.path, 'reflection.pb');
    const clients = join(ROOT, 'test', 'clients', 'reflection');
    const r = protoc(clients, ['grpc/reflection/v1alpha/reflection.proto'], [`--descriptor_set_out=${reflectionSet}`]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => d?.remove());

  it('buf lint passes on proto/ (buf.yaml: STANDARD rules, each exception explained)', () => {
    const r = run(join(ROOT, 'node_modules', '.bin', 'buf'), ['lint']);
    assert.equal(r.status, 0, `buf lint:\n${r.stdout}${r.stderr}`);
  });

  it('protoc compiles every .proto together, and one Python process imports every generated module', { skip }, () => {
    const files = protoFiles();
    assert.ok(files.length >= 3, `proto/ holds the endpoint, orchestrator and health protos: ${files}`);
    const out = join(d.path, 'py');
    mkdirSync(out, { recursive: true });
    const r = protoc(PROTO, files, [`--python_out=${out}`, `--descriptor_set_out=${join(d.path, 'all.pb')}`]);
    assert.equal(r.status, 0, `protoc refused to compile ${files.join(' ')} together:\n${r.stderr}`);
    // not grpc/health/v1: in Python, package grpc is grpcio itself (clients import grpc_health.v1 from grpcio-health-checking)
    const modules = files.filter((f) => !f.startsWith('grpc/')).map((f) => f.replace(/\.proto$/, '_pb2').split('/').join('.'));
    assert.deepEqual(modules, ['ferry.v1.endpoint_pb2', 'ferry.v1.orchestrator_pb2']);
    const script = `import importlib\nfor m in ${JSON.stringify(modules)}:\n    importlib.import_module(m)\nprint('ok')\n`;
    const py = run(PYTHON, ['-c', script], { cwd: out });
    assert.equal(py.stdout.trim(), 'ok', py.stderr);
  });

  describe('server reflection', () => {
    let agent: Agent;
    let redis: EmbeddedRedis;
    let engine: TestEngine;
    let scheduler: JobScheduler;
    let orch: OrchestratorServer;
    let endpoint: string;

    before(async () => {
      if (skip) return;
      endpoint = `dir:${d.path}/a`;
      mkdirSync(join(d.path, 'a', 'one'), { recursive: true });
      writeFileSync(join(d.path, 'a', 'one', 'f'), 'x');
      await createDirDriver(join(d.path, 'a')).snapshot(['one'], 's1');
      const log = join(d.path, 'log');
      await appendEntry(log, 'st', 'p1', 1, Buffer.from('entry'));
      await commit(log, 'st', 'p1', 1);
      await registerConsumer(log, 'st', 'p1', 'reader', 0);
      agent = await startAgent({ endpoints: [endpoint], logRoot: log, token: TOKEN, host: '127.0.0.1', port: 0 });

      redis = await startTestRedis();
      const metrics = new FerryMetrics();
      const logger = createLogger({ level: 'warn', pretty: false });
      const prefix = `protocompat${process.pid}`;
      engine = openTestEngine(redis.url, { prefix, registry: mergeRegistries(replicationRegistry({ metrics }), jobRegistry()), metrics, logger });
      scheduler = new JobScheduler(engine.connection, prefix, logger);
      const api = new LocalOrchestrator({ engine, jobs: new JobStore(engine.connection, prefix), scheduler, metrics });
      await api.createJob({ name: 'nightly', sender: endpoint, receivers: [`dir:${d.path}/b`] });
      orch = await startOrchestratorServer({ orchestrator: api, token: TOKEN, host: '127.0.0.1', port: 0 });
    });

    after(async () => {
      await agent?.close(500);
      await orch?.close(500);
      await scheduler?.close();
      await engine?.close();
      await redis?.stop();
    });

    /** What test/clients/grpc_reflect.py finds at `address` (and the answer of `call`, if given); not spawnSync: the servers run in this process */
    async function reflect(address: string, call?: [string, object]) {
      const args = [join(ROOT, 'test', 'clients', 'grpc_reflect.py'), address, reflectionSet, '--token', TOKEN];
      if (call) args.push('--call', call[0], JSON.stringify(call[1]));
      const r = await runProcess(PYTHON, args, { timeoutMs: 60_000 });
      assert.equal(r.code, 0, `the reflection client failed:\n${r.stderr}`);
      return JSON.parse(r.stdout) as {
        services: string[];
        methods: Record<string, { name: string; input: string; output: string; client_streaming: boolean; server_streaming: boolean }[]>;
        call?: { ok?: Record<string, unknown>; status?: string; details?: string };
      };
    }

    it('the agent lists Endpoint and Health, describes every method, and answers a call built from what it described', { skip }, async () => {
      const r = await reflect(agent.address, ['ferry.v1.Endpoint/ListVersions', { endpoint, filesystem: 'one' }]);
      assert.deepEqual(r.services.filter((s) => !s.startsWith('grpc.reflection.')).sort(), ['ferry.v1.Endpoint', 'grpc.health.v1.Health']);
      const methods = new Map(r.methods['ferry.v1.Endpoint'].map((m) => [m.name, m]));
      assert.deepEqual([...methods.keys()].sort(), ['Acknowledge', 'DescribeReceiver', 'DestroySnapshot', 'GetPartition', 'ListFilesystems', 'ListPartitions', 'ListVersions', 'Prune', 'ReadEntry', 'Receive', 'ResumeToken', 'Send', 'Snapshot']);
      assert.deepEqual(methods.get('GetPartition'), { name: 'GetPartition', input: 'ferry.v1.EndpointGetPartitionRequest', output: 'ferry.v1.EndpointGetPartitionResponse', client_streaming: false, server_streaming: false });
      assert.equal(methods.get('Send')?.server_streaming, true);
      assert.equal(methods.get('Receive')?.client_streaming, true);
      assert.equal(r.methods['grpc.health.v1.Health'][0].name, 'Check');
      const versions = r.call?.ok?.versions as { name: string }[] | undefined;
      assert.deepEqual(versions?.map((v) => v.name), ['s1'], JSON.stringify(r.call));
      // field names as the .proto writes them, and a map field (its entry type named as protoc names it)
      const parts = await reflect(agent.address, ['ferry.v1.Endpoint/ListPartitions', {}]);
      assert.deepEqual(parts.call?.ok, { partitions: [{ storage: 'st', partition: 'p1', low_water_mark: '1', high_water_mark: '1', positions: { reader: '0' } }] }, JSON.stringify(parts.call));
    });

    it('the orchestrator lists Orchestrator and Health, and answers ListJobs and ResetPartition found through reflection', { skip }, async () => {
      const r = await reflect(orch.address, ['ferry.v1.Orchestrator/ListJobs', {}]);
      assert.deepEqual(r.services.filter((s) => !s.startsWith('grpc.reflection.')).sort(), ['ferry.v1.Orchestrator', 'grpc.health.v1.Health']);
      const methods = new Map(r.methods['ferry.v1.Orchestrator'].map((m) => [m.name, m]));
      assert.equal(methods.get('ListPartitions')?.output, 'ferry.v1.ListPartitionsResponse');
      assert.equal(methods.get('ResetPartition')?.input, 'ferry.v1.ResetPartitionRequest');
      assert.equal(methods.get('WatchTransitions')?.server_streaming, true);
      const jobs = r.call?.ok?.jobs as { spec: { name: string } }[] | undefined;
      assert.deepEqual(jobs?.map((j) => j.spec.name), ['nightly'], JSON.stringify(r.call));
      // a method found by reflection, with an error answered as the proto's comments say
      const reset = await reflect(orch.address, ['ferry.v1.Orchestrator/ResetPartition', { storage: 'st', partition: 'p1' }]);
      assert.equal(reset.call?.status, 'NOT_FOUND', JSON.stringify(reset.call));
      assert.match(reset.call?.details ?? '', /no partition st\/p1/);
    });
  });
});
