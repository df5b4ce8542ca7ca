import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { appendEntry, commit } from '../src/archiver/log-source/index.js';
import { createRemoteLogSource } from '../src/archiver/log-source/remote.js';
import { startAgent, type Agent } from '../src/api/agent-server.js';
import { startOrchestratorServer, type OrchestratorServer } from '../src/api/orchestrator-server.js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { TemporaryError } from '../src/errors/index.js';
import { closeRemoteClients } from '../src/grpc/endpoint-channels.js';
import { newEndpointClient, newOrchestratorClient, serviceDefinition, type EndpointClient, type OrchestratorClient } from '../src/grpc/proto.js';
import { boundStatusDetails, MAX_STATUS_DETAILS_BYTES } from '../src/grpc/status.js';
import { mergeRegistries } from '../src/engine/merge-registries.js';
import { jobRegistry } from '../src/jobs/registry.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { JobStore } from '../src/jobs/store.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { LocalOrchestrator } from '../src/service/local-orchestrator.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { createRemoteDriver } from '../src/storage/remote/driver.js';
import { createLogger } from '../src/util/logger.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { startTestRedis } from './helpers/redis.js';
import { until } from './helpers/processes.js';
import { tempDir } from './helpers/replication.js';

/**
 * Both gRPC servers against clients that do everything wrong: undecodable bytes, bad stream
 * sequences, cancels, silence, 200 KB fields, traversal and NUL names, int64 edges. Each call must
 * get a bounded answer (never its deadline), and the server must answer the next call.
 */

const TOKEN = 'hostile-test-token-0123456789';
const HUGE = 'x'.repeat(200 * 1024);
/** generous: a call that needs it has not been answered at all (the bug this file guards against) */
const DEADLINE_MS = 15_000;

function bearer(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  return md;
}

type Cb = (err: grpc.ServiceError | null, res?: unknown) => void;

/** A unary call's status error (null on success), with a deadline. */
function unary(fn: (md: grpc.Metadata, opts: grpc.CallOptions, cb: Cb) => unknown): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => { fn(bearer(), { deadline: Date.now() + DEADLINE_MS }, (err) => resolve(err)); });
}

/** A server stream's status error (null when it ended cleanly), reading everything. */
function serverStream(call: grpc.ClientReadableStream<unknown>): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', (e) => resolve(e as grpc.ServiceError));
    call.on('end', () => resolve(null));
  });
}

/** A refusal as it must look: INVALID_ARGUMENT naming `field`, bounded. */
function assertRefused(err: grpc.ServiceError | null, field: string, what: string): void {
  assert.ok(err, `${what}: accepted`);
  assert.notEqual(err.code, grpc.status.DEADLINE_EXCEEDED, `${what}: never answered`);
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${what}: ${grpc.status[err.code]} ${err.details.slice(0, 300)}`);
  assert.ok(err.details.startsWith(`${field}: `), `${what}: ${err.details.slice(0, 300)}`);
  assert.ok(Buffer.byteLength(err.details) <= MAX_STATUS_DETAILS_BYTES, `${what}: ${Buffer.byteLength(err.details)} bytes of details`);
}

// protobuf wire format by hand, for what a typed client cannot send
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) { out.push((n & 127) | 128); n = Math.floor(n / 128); }
  out.push(n);
  return Buffer.from(out);
}
const bytesField = (field: number, b: Buffer) => Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
const stringField = (field: number, s: string) => bytesField(field, Buffer.from(s));

describe('gRPC servers against hostile clients', () => {
  let d: { path: string; remove(): void };
  let endpoint: string;
  let agent: Agent;
  let client: EndpointClient;
  let raw: grpc.Client;
  let redis: EmbeddedRedis;
  let engine: TestEngine;
  let scheduler: JobScheduler;
  let orch: OrchestratorServer;
  let orchClient: OrchestratorClient;

  before(async () => {
    d = tempDir('hostile');
    endpoint = `dir:${d.path}/a`;
    mkdirSync(join(d.path, 'a', 'one'), { recursive: true });
    writeFileSync(join(d.path, 'a', 'one', 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 'a'));
    await createDirDriver(join(d.path, 'a')).snapshot(['one'], 's1');
    const log = join(d.path, 'log');
    await appendEntry(log, 'st', 'p1', 1, Buffer.alloc(1024 * 1024, 'e'));
    await commit(log, 'st', 'p1', 1);
    agent = await startAgent({ endpoints: [endpoint], logRoot: log, token: TOKEN, host: '127.0.0.1', port: 0, receiveIdleMs: 500 });
    client = newEndpointClient(agent.address);
    raw = new grpc.Client(agent.address, grpc.credentials.createInsecure());

    redis = await startTestRedis();
    const metrics = new FerryMetrics();
    const logger = createLogger({ level: 'warn', pretty: false });
    const prefix = `hostile${process.pid}`;
    engine = openTestEngine(redis.url, { prefix, registry: mergeRegistries(replicationRegistry({ metrics }), jobRegistry()), metrics, logger });
    const jobs = new JobStore(engine.connection, prefix);
    scheduler = new JobScheduler(engine.connection, prefix, logger);
    orch = await startOrchestratorServer({ orchestrator: new LocalOrchestrator({ engine, jobs, scheduler, metrics }), token: TOKEN, host: '127.0.0.1', port: 0 });
    orchClient = newOrchestratorClient(orch.address);
  });

  after(async () => {
    client?.close();
    raw?.close();
    orchClient?.close();
    closeRemoteClients();
    await agent?.close(500);
    await orch?.close(500);
    await scheduler?.close();
    await engine?.close();
    await redis?.stop();
    d?.remove();
  });

  /** The agent still answers, and the orchestrator too. */
  async function stillServing(): Promise<void> {
    assert.equal(await unary((md, o, cb) => client.listFilesystems({ endpoint }, md, o, cb)), null, 'the agent answers');
    assert.equal(await unary((md, o, cb) => orchClient.listJobs({}, md, o, cb)), null, 'the orchestrator answers');
  }

  /** A Receive of raw messages (bytes as the wire carries them); its status, or null. */
  function rawReceive(messages: Buffer[], o: { end?: boolean; cancelAfterMs?: number } = {}): Promise<grpc.ServiceError | null> {
    return new Promise((resolve) => {
      const id = (b: Buffer) => b;
      const call = raw.makeClientStreamRequest('/ferry.v1.Endpoint/Receive', id, id, bearer(), { deadline: Date.now() + DEADLINE_MS }, (err) => resolve(err));
      for (const m of messages) call.write(m);
      if (o.cancelAfterMs !== undefined) setTimeout(() => call.cancel(), o.cancelAfterMs);
      else if (o.end !== false) call.end();
    });
  }

  const header = (fs = 'fsx') => bytesField(1, Buffer.concat([stringField(1, endpoint), stringField(2, fs)]));
  const chunk = (b: Buffer) => bytesField(2, b);

  /**
   * The driver let go of `fs` (its receive ended, its lock is free): an empty receive of it is
   * refused for its stream, not as busy. A driver left waiting on a stream that never ends fails this.
   */
  const released = (fs: string) => until(`the receive of ${fs} to end`, async () => {
    const err = await rawReceive([header(fs)]);
    return !!err && !/busy/.test(err.details);
  }, 10_000);

  it('Receive: a valid header, then an undecodable message: answered, and the agent keeps serving', async () => {
    const err = await rawReceive([header(), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])]);
    assert.ok(err && err.code !== grpc.status.DEADLINE_EXCEEDED, String(err?.code));
    await stillServing();
    await released('fsx');
    assert.ok(!existsSync(join(d.path, 'a', 'fsx')), 'nothing visible was received');
  });

  it('Receive: every bad sequence is refused naming the header; the agent keeps serving', async () => {
    assertRefused(await rawReceive([]), 'header', 'an empty stream');
    assertRefused(await rawReceive([chunk(Buffer.from('data'))]), 'header', 'data before the header');
    const two = await rawReceive([header(), header()]);
    assertRefused(two, 'header', 'two headers');
    assert.match(two!.details, /only the first message may be a header/);
    assertRefused(await rawReceive([bytesField(1, stringField(1, endpoint))]), 'header.filesystem', 'a header without filesystem');
    assertRefused(await rawReceive([header('../x')]), 'header.filesystem', 'a traversal in the header');
    assertRefused(await rawReceive([header(HUGE)]), 'header.filesystem', 'a 200 KB filesystem in the header');
    // a header whose endpoint is a number (wire type varint where a string is due)
    const wrongType = await rawReceive([bytesField(1, Buffer.concat([varint((1 << 3) | 0), varint(7), stringField(2, 'fsx')]))]);
    assert.ok(wrongType && wrongType.code !== grpc.status.DEADLINE_EXCEEDED && wrongType.code !== grpc.status.OK, String(wrongType?.code));
    await stillServing();
  });

  it('Receive: a client that cancels mid-stream, or goes silent, has its receive aborted; the agent keeps serving', async () => {
    const cancelled = await rawReceive([header('fsc'), chunk(Buffer.from('partial'))], { cancelAfterMs: 100 });
    assert.equal(cancelled?.code, grpc.status.CANCELLED);
    await released('fsc');
    // silent after its header: the agent gives up after receiveIdleMs and says why
    const silent = await rawReceive([header('fss')], { end: false });
    assert.equal(silent?.code, grpc.status.UNAVAILABLE, silent?.details);
    assert.equal(silent!.metadata.get('ferry-error-code')[0], 'DEADLINE_EXCEEDED');
    assert.match(silent!.details, /sent nothing/);
    await released('fss');
    await stillServing();
    assert.ok(!existsSync(join(d.path, 'a', 'fsc')) && !existsSync(join(d.path, 'a', 'fss')), 'nothing visible was received');
  });

  it('Send and ReadEntry: a client that cancels after the first message; undecodable requests; the agent keeps serving', async () => {
    for (const start of [
      () => client.send({ endpoint, filesystem: 'one', to: { name: 's1', guid: 'unused' } }, bearer()),
      () => client.readEntry({ storage: 'st', partition: 'p1', lsn: 1 }, bearer()),
    ]) {
      const call = start();
      await new Promise<void>((resolve) => {
        call.once('data', () => { call.cancel(); resolve(); });
        call.once('error', () => resolve());
      });
      call.on('error', () => {});
    }
    const id = (b: Buffer) => b;
    for (const method of ['Send', 'ReadEntry', 'ListFilesystems', 'GetPartition']) {
      const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
      const err = await new Promise<grpc.ServiceError | null>((resolve) => {
        if (method === 'Send' || method === 'ReadEntry') {
          const s = raw.makeServerStreamRequest(`/ferry.v1.Endpoint/${method}`, id, id, garbage, bearer(), { deadline: Date.now() + DEADLINE_MS });
          s.on('data', () => {});
          s.on('error', (e) => resolve(e as grpc.ServiceError));
          s.on('end', () => resolve(null));
        } else {
          raw.makeUnaryRequest(`/ferry.v1.Endpoint/${method}`, id, id, garbage, bearer(), { deadline: Date.now() + DEADLINE_MS }, (e) => resolve(e));
        }
      });
      assert.ok(err && err.code !== grpc.status.DEADLINE_EXCEEDED, `${method}: ${err?.code}`);
    }
    await stillServing();
  });

  it('answers a 200 KB value in any field of any agent call promptly, with a bounded message naming the field', async () => {
    const to = { name: 's1', guid: 'g' };
    const ref = { storage: 'st', partition: 'p1' };
    const cases: [string, string, (md: grpc.Metadata, o: grpc.CallOptions, cb: Cb) => unknown][] = [
      ['ListFilesystems', 'endpoint', (md, o, cb) => client.listFilesystems({ endpoint: HUGE }, md, o, cb)],
      ['ListVersions', 'endpoint', (md, o, cb) => client.listVersions({ endpoint: HUGE, filesystem: 'one' }, md, o, cb)],
      ['ListVersions', 'filesystem', (md, o, cb) => client.listVersions({ endpoint, filesystem: HUGE }, md, o, cb)],
      ['Snapshot', 'filesystems[0]', (md, o, cb) => client.snapshot({ endpoint, filesystems: [HUGE], name: 'n' }, md, o, cb)],
      ['Snapshot', 'name', (md, o, cb) => client.snapshot({ endpoint, filesystems: ['one'], name: HUGE }, md, o, cb)],
      ['DestroySnapshot', 'filesystem', (md, o, cb) => client.destroySnapshot({ endpoint, filesystem: HUGE, name: 's1' }, md, o, cb)],
      ['DestroySnapshot', 'name', (md, o, cb) => client.destroySnapshot({ endpoint, filesystem: 'one', name: HUGE }, md, o, cb)],
      ['ResumeToken', 'filesystem', (md, o, cb) => client.resumeToken({ endpoint, filesystem: HUGE }, md, o, cb)],
      ['DescribeReceiver', 'endpoint', (md, o, cb) => client.describeReceiver({ endpoint: HUGE }, md, o, cb)],
      ['GetPartition', 'storage', (md, o, cb) => client.getPartition({ storage: HUGE, partition: 'p1' }, md, o, cb)],
      ['GetPartition', 'partition', (md, o, cb) => client.getPartition({ storage: 'st', partition: HUGE }, md, o, cb)],
      ['Acknowledge', 'consumer', (md, o, cb) => client.acknowledge({ ...ref, consumer: HUGE, lsn: 1 }, md, o, cb)],
      ['Prune', 'partition', (md, o, cb) => client.prune({ storage: 'st', partition: HUGE }, md, o, cb)],
    ];
    for (const [method, field, fn] of cases) assertRefused(await unary(fn), field, `${method} ${field}`);
    const streams: [string, string, () => grpc.ClientReadableStream<unknown>][] = [
      ['Send', 'filesystem', () => client.send({ endpoint, filesystem: HUGE, to }, bearer(), { deadline: Date.now() + DEADLINE_MS })],
      ['Send', 'to.name', () => client.send({ endpoint, filesystem: 'one', to: { name: HUGE, guid: 'g' } }, bearer(), { deadline: Date.now() + DEADLINE_MS })],
      ['Send', 'to.guid', () => client.send({ endpoint, filesystem: 'one', to: { name: 's1', guid: HUGE } }, bearer(), { deadline: Date.now() + DEADLINE_MS })],
      ['Send', 'resume_token', () => client.send({ endpoint, filesystem: 'one', to, resumeToken: HUGE }, bearer(), { deadline: Date.now() + DEADLINE_MS })],
      ['ReadEntry', 'storage', () => client.readEntry({ storage: HUGE, partition: 'p1', lsn: 1 }, bearer(), { deadline: Date.now() + DEADLINE_MS })],
    ];
    for (const [method, field, start] of streams) assertRefused(await serverStream(start()), field, `${method} ${field}`);
    await stillServing();
  });

  it('refuses traversal, absolute and NUL names in every name field of the agent, ResumeToken included', async () => {
    for (const bad of ['../x', '/etc', 'a\u0000b', '..', '-rf']) {
      // '-rf' reads as an option to zfs and btrfs, so storage names refuse it; log names are only directory names
      const logName = bad !== '-rf';
      const cases: [string, string, (md: grpc.Metadata, o: grpc.CallOptions, cb: Cb) => unknown][] = [
        ['ResumeToken', 'filesystem', (md, o, cb) => client.resumeToken({ endpoint, filesystem: bad }, md, o, cb)],
        ['ListVersions', 'filesystem', (md, o, cb) => client.listVersions({ endpoint, filesystem: bad }, md, o, cb)],
        ['Snapshot', 'filesystems[0]', (md, o, cb) => client.snapshot({ endpoint, filesystems: [bad], name: 'n' }, md, o, cb)],
        ['Snapshot', 'name', (md, o, cb) => client.snapshot({ endpoint, filesystems: ['one'], name: bad }, md, o, cb)],
        ['DestroySnapshot', 'filesystem', (md, o, cb) => client.destroySnapshot({ endpoint, filesystem: bad, name: 's1' }, md, o, cb)],
        ['DestroySnapshot', 'name', (md, o, cb) => client.destroySnapshot({ endpoint, filesystem: 'one', name: bad }, md, o, cb)],
      ];
      if (logName) {
        cases.push(
          ['GetPartition', 'storage', (md, o, cb) => client.getPartition({ storage: bad, partition: 'p1' }, md, o, cb)],
          ['GetPartition', 'partition', (md, o, cb) => client.getPartition({ storage: 'st', partition: bad }, md, o, cb)],
          ['Acknowledge', 'consumer', (md, o, cb) => client.acknowledge({ storage: 'st', partition: 'p1', consumer: bad, lsn: 1 }, md, o, cb)],
          ['Prune', 'storage', (md, o, cb) => client.prune({ storage: bad, partition: 'p1' }, md, o, cb)],
        );
        assertRefused(await serverStream(client.readEntry({ storage: 'st', partition: bad, lsn: 1 }, bearer())), 'partition', `ReadEntry ${JSON.stringify(bad)}`);
      }
      for (const [method, field, fn] of cases) assertRefused(await unary(fn), field, `${method} ${field} ${JSON.stringify(bad)}`);
      assertRefused(await serverStream(client.send({ endpoint, filesystem: bad, to: { name: 's1', guid: 'g' } }, bearer())), 'filesystem', `Send ${JSON.stringify(bad)}`);
      assertRefused(await serverStream(client.send({ endpoint, filesystem: 'one', to: { name: bad, guid: 'g' } }, bearer())), 'to.name', `Send to.name ${JSON.stringify(bad)}`);
    }
    // an endpoint with a NUL is refused as bad input, not looked up
    assertRefused(await unary((md, o, cb) => client.listFilesystems({ endpoint: `${endpoint}\u0000` }, md, o, cb)), 'endpoint', 'a NUL in the endpoint');
    await stillServing();
  });

  it('refuses int64 values out of range: negative, beyond 2^53', async () => {
    const beyond = '18014398509481985'; // 2^54 + 1: not a safe integer
    for (const lsn of [-1, beyond]) {
      assertRefused(await serverStream(client.readEntry({ storage: 'st', partition: 'p1', lsn }, bearer())), 'lsn', `ReadEntry lsn ${lsn}`);
      assertRefused(await unary((md, o, cb) => client.acknowledge({ storage: 'st', partition: 'p1', consumer: 'c', lsn }, md, o, cb)), 'lsn', `Acknowledge lsn ${lsn}`);
      assertRefused(await serverStream(client.send({ endpoint, filesystem: 'one', to: { name: 's1', guid: 'g', createtxg: lsn } }, bearer())), 'to.createtxg', `Send createtxg ${lsn}`);
    }
    const every = await unary((md, o, cb) => orchClient.createJob({ spec: { name: 'j', sender: endpoint, receivers: [`dir:${d.path}/r`], schedule: { everyMs: beyond } } }, md, o, cb));
    assertRefused(every, 'schedule.every_ms', 'CreateJob every_ms');
  });

  it('answers a 200 KB value, a traversal or a NUL in any field of any orchestrator call promptly, naming the field', async () => {
    for (const bad of [HUGE, '../x', 'a\u0000b']) {
      const cases: [string, string, (md: grpc.Metadata, o: grpc.CallOptions, cb: Cb) => unknown][] = [
        ['GetJob', 'name', (md, o, cb) => orchClient.getJob({ name: bad }, md, o, cb)],
        ['DeleteJob', 'name', (md, o, cb) => orchClient.deleteJob({ name: bad }, md, o, cb)],
        ['RunJob', 'name', (md, o, cb) => orchClient.runJob({ name: bad }, md, o, cb)],
        ['SignalJob', 'name', (md, o, cb) => orchClient.signalJob({ name: bad, signal: 'wakeup' }, md, o, cb)],
        ['GetRun', 'id', (md, o, cb) => orchClient.getRun({ id: bad }, md, o, cb)],
        ['ListRuns', 'job', (md, o, cb) => orchClient.listRuns({ job: bad }, md, o, cb)],
        ['GetPartition', 'storage', (md, o, cb) => orchClient.getPartition({ storage: bad, partition: 'p' }, md, o, cb)],
        ['GetPartition', 'partition', (md, o, cb) => orchClient.getPartition({ storage: 's', partition: bad }, md, o, cb)],
        ['CreateJob', 'name', (md, o, cb) => orchClient.createJob({ spec: { name: bad, sender: endpoint, receivers: [`dir:${d.path}/r`] } }, md, o, cb)],
      ];
      if (bad !== '../x') {
        // a path and a URL may hold '../', not control characters or 200 KB
        cases.push(
          ['SignalJob', 'signal', (md, o, cb) => orchClient.signalJob({ name: 'j', signal: bad }, md, o, cb)],
          ['NotifyLogEntries', 'log', (md, o, cb) => orchClient.notifyLogEntries({ log: bad, sink: 'file:///tmp/x' }, md, o, cb)],
          ['NotifyLogEntries', 'sink', (md, o, cb) => orchClient.notifyLogEntries({ log: '/tmp/x', sink: bad }, md, o, cb)],
          ['CreateJob', 'sender', (md, o, cb) => orchClient.createJob({ spec: { name: 'j', sender: bad, receivers: [`dir:${d.path}/r`] } }, md, o, cb)],
          ['CreateJob', 'receivers[0]', (md, o, cb) => orchClient.createJob({ spec: { name: 'j', sender: endpoint, receivers: [bad] } }, md, o, cb)],
          ['CreateJob', 'filesystems', (md, o, cb) => orchClient.createJob({ spec: { name: 'j', sender: endpoint, receivers: [`dir:${d.path}/r`], filesystems: bad } }, md, o, cb)],
          ['CreateJob', 'schedule.cron', (md, o, cb) => orchClient.createJob({ spec: { name: 'j', sender: endpoint, receivers: [`dir:${d.path}/r`], schedule: { cron: bad } } }, md, o, cb)],
        );
      }
      for (const [method, field, fn] of cases) assertRefused(await unary(fn), field, `${method} ${field} ${JSON.stringify(bad.slice(0, 10))}`);
      // a log root relative to the server's working directory, which the client neither sees nor chooses
      for (const relative of ['.', '..', 'wal', '../x']) {
        assertRefused(await unary((md, o, cb) => orchClient.notifyLogEntries({ log: relative, sink: 'file:///tmp/x' }, md, o, cb)), 'log', `NotifyLogEntries log ${relative}`);
      }
      const watch = orchClient.watchTransitions({ afterId: bad }, bearer(), { deadline: Date.now() + DEADLINE_MS });
      if (bad !== '../x') assertRefused(await serverStream(watch), 'after_id', 'WatchTransitions after_id');
      else assert.equal((await serverStream(watch))?.code, grpc.status.INVALID_ARGUMENT);
    }
    await stillServing();
  });

  it('WatchTransitions: a client that cancels leaves the server serving', async () => {
    const watch = orchClient.watchTransitions({}, bearer());
    watch.on('error', () => {});
    await new Promise((r) => setTimeout(r, 100));
    watch.cancel();
    await stillServing();
  });

  it('CreateJob names the field each problem is about (a relative sender: sender, not receivers[0]); WatchTransitions refuses unknown kinds', async () => {
    const relative = await unary((md, o, cb) => orchClient.createJob({ spec: { name: 'j', sender: 'dir:relative', receivers: [`dir:${d.path}/q`] } }, md, o, cb));
    assertRefused(relative, 'sender', 'CreateJob relative sender');
    const cron = await unary((md, o, cb) => orchClient.createJob({ spec: { name: 'j', sender: endpoint, receivers: [`dir:${d.path}/q`], schedule: { cron: '99 * * * *' } } }, md, o, cb));
    assertRefused(cron, 'schedule.cron', 'CreateJob cron out of range');
    const kinds = await serverStream(orchClient.watchTransitions({ kinds: ['job', 'bogus'] }, bearer(), { deadline: Date.now() + DEADLINE_MS }));
    assertRefused(kinds, 'kinds', 'WatchTransitions kinds bogus');
    await stillServing();
  });
});

describe('bounded status messages', () => {
  it('cuts a message to MAX_STATUS_DETAILS_BYTES percent-encoded, whatever its characters', () => {
    for (const text of ['x'.repeat(100_000), 'é'.repeat(100_000), '\u{1F600}'.repeat(50_000), `${'a'.repeat(5000)}\ud800`]) {
      const bounded = boundStatusDetails(text);
      assert.ok(encodeURI(bounded).length <= MAX_STATUS_DETAILS_BYTES, `${encodeURI(bounded).length}`);
      assert.match(bounded, /…\(\d+ bytes\)$/);
    }
    assert.equal(boundStatusDetails('short'), 'short');
    assert.equal(boundStatusDetails('lone \ud800 surrogate'), 'lone \ufffd surrogate');
  });
});

describe('clients give up on a silent agent (progress timeouts)', () => {
  let server: grpc.Server;
  let address: string;
  const savedToken = process.env.FERRY_TOKEN_FILE;

  before(async () => {
    // an agent that starts every stream and then says nothing, and never answers a Receive
    server = new grpc.Server();
    const silent = () => {};
    server.addService(serviceDefinition('endpoint'), {
      Send: (call: grpc.ServerWritableStream<unknown, unknown>) => { call.write({ header: { sizeEstimate: { bytes: 10 } } }); },
      ReadEntry: (call: grpc.ServerWritableStream<unknown, unknown>) => { call.write({ header: { size: 10 } }); },
      Receive: (call: grpc.ServerReadableStream<unknown, unknown>) => { call.on('data', silent); },
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });

  after(() => {
    server?.forceShutdown();
    closeRemoteClients();
    if (savedToken === undefined) delete process.env.FERRY_TOKEN_FILE;
    else process.env.FERRY_TOKEN_FILE = savedToken;
  });

  const isStalled = (err: unknown) => err instanceof TemporaryError && err.code === 'DEADLINE_EXCEEDED' && /no progress/.test(err.message);

  it('Send and Receive of the remote driver fail with a temporary DEADLINE_EXCEEDED error', async () => {
    const driver = createRemoteDriver({ url: `grpc://${address}/dir:/x`, address, endpoint: 'dir:/x', kind: 'dir', tls: false }, { token: TOKEN, progressTimeoutMs: 300 });
    const { stream } = await driver.send('one', null, { name: 's1', guid: 'g', createtxg: 1 });
    await assert.rejects((async () => { for await (const _ of stream) void _; })(), isStalled);
    const { Readable } = await import('node:stream');
    await assert.rejects(driver.receive('one', Readable.from([Buffer.from('abc')])), isStalled);
  });

  it('ReadEntry of the remote log source fails with a temporary DEADLINE_EXCEEDED error', async () => {
    const source = createRemoteLogSource(`grpc://${address}`, { token: TOKEN, progressTimeoutMs: 300 });
    const { stream } = await source.readEntry({ storage: 'st', partition: 'p1' }, 1);
    await assert.rejects((async () => { for await (const _ of stream) void _; })(), isStalled);
  });
});
