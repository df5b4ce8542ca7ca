import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import type { Engine } from '../src/engine/engine.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { openEndpoint, parseEndpoint } from '../src/storage/endpoint.js';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../src/errors/index.js';
import { PassThrough } from 'node:stream';
import { newEndpointClient, newHealthClient, serviceDefinition, type EndpointClient } from '../src/grpc/proto.js';
import { freePort } from '../src/cli/embedded-redis.js';
import { closeRemoteClients } from '../src/grpc/endpoint-channels.js';
import { startTestRedis } from './helpers/redis.js';
import { tree } from './helpers/files.js';
import { replicate, replicationEngine, tempDir } from './helpers/replication.js';
import { stopProcess } from './helpers/processes.js';
import { startAgent } from './helpers/agent.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TOKEN = 'agent-test-token-0123456789';

function bearer(token = TOKEN): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/** A unary call's outcome: the response, or the status error. */
function call<Res>(fn: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<{ err: grpc.ServiceError | null; res?: Res }> {
  return new Promise((resolve) => fn((err, res) => resolve({ err, res })));
}

function sendStatus(client: EndpointClient, req: object, md: grpc.Metadata): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const s = client.send(req, md);
    s.on('data', () => {});
    s.on('error', (e) => resolve(e as grpc.ServiceError));
    s.on('end', () => resolve(null));
  });
}

describe('ferry agent: the Endpoint gRPC service and grpc:// endpoints', () => {
  let redis: EmbeddedRedis;
  let engine: Engine;
  let d: { path: string; remove(): void };
  let a: { child: ChildProcess; port: number };
  let b: { child: ChildProcess; port: number };
  let client: EndpointClient;
  const savedTokenFile = process.env.FERRY_TOKEN_FILE;

  before(async () => {
    d = tempDir('agent');
    mkdirSync(join(d.path, 'a'));
    mkdirSync(join(d.path, 'b'));
    const tokenFile = join(d.path, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    process.env.FERRY_TOKEN_FILE = tokenFile;
    [a, b] = await Promise.all([startAgent([`dir:${d.path}/a`], tokenFile), startAgent([`dir:${d.path}/b`], tokenFile)]);
    redis = await startTestRedis();
    engine = replicationEngine(redis.url);
    client = newEndpointClient(`127.0.0.1:${a.port}`);
  });

  after(async () => {
    client?.close();
    closeRemoteClients();
    await engine?.close();
    await redis?.stop();
    await Promise.all([a && stopProcess(a.child), b && stopProcess(b.child)]);
    if (savedTokenFile === undefined) delete process.env.FERRY_TOKEN_FILE;
    else process.env.FERRY_TOKEN_FILE = savedTokenFile;
    d?.remove();
  });

  it('parses grpc://host:port/<endpoint>: the kind is the remote one, each agent is its own location', () => {
    const p = parseEndpoint('grpc://127.0.0.1:7001/dir:/srv/a/');
    assert.deepEqual(p, { kind: 'dir', location: 'grpc://127.0.0.1:7001/dir:/srv/a', remote: { address: '127.0.0.1:7001', endpoint: 'dir:/srv/a', tls: false } });
    assert.equal(parseEndpoint('grpc://[::1]:7001/zfs:pool/x').kind, 'zfs');
    assert.notEqual(parseEndpoint('grpc://h1:1/dir:/x').location, parseEndpoint('grpc://h2:1/dir:/x').location);
    for (const bad of ['grpc://h/dir:/x', 'grpc://h:0/dir:/x', 'grpc://h:1/', 'grpc://h:1/dir:rel', 'grpc://h:1/grpc://h:2/dir:/x']) {
      assert.throws(() => parseEndpoint(bad), InvalidArgumentError, bad);
    }
    assert.equal(openEndpoint('grpc://127.0.0.1:7001/dir:/srv/a').kind, 'dir');
  });

  it('replicates from agent A to agent B through the engine: full, then incremental', async () => {
    const src = join(d.path, 'a');
    for (const fs of ['one', 'two']) {
      mkdirSync(join(src, fs, 'sub'), { recursive: true });
      writeFileSync(join(src, fs, 'a.txt'), `a of ${fs}\n`);
      // bigger than one gRPC chunk, so streams carry many messages
      writeFileSync(join(src, fs, 'sub', 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, fs));
    }
    const sender = openEndpoint(`grpc://127.0.0.1:${a.port}/dir:${src}`);
    assert.deepEqual(await sender.listFilesystems(), ['one', 'two']);
    await sender.snapshot(['one', 'two'], 's1');
    const opts = { sender: `grpc://127.0.0.1:${a.port}/dir:${src}`, receiver: `grpc://127.0.0.1:${b.port}/dir:${d.path}/b` };

    const full = await replicate(engine, opts);
    assert.equal(full.state, 'Completed', JSON.stringify(full));
    assert.deepEqual(full.filesystems.map((f) => [f.name, f.state, f.stepsDone]), [['one', 'Completed', 1], ['two', 'Completed', 1]]);
    assert.ok(full.filesystems.every((f) => f.bytes > 3 * 1024 * 1024));
    for (const fs of ['one', 'two']) assert.deepEqual(tree(join(d.path, 'b', fs)), tree(join(src, fs)));

    writeFileSync(join(src, 'one', 'new.txt'), 'new\n');
    rmSync(join(src, 'two', 'a.txt'));
    await sender.snapshot(['one', 'two'], 's2');
    const inc = await replicate(engine, opts);
    assert.equal(inc.state, 'Completed', JSON.stringify(inc));
    assert.deepEqual(inc.filesystems.map((f) => f.stepsTotal), [1, 1]);
    assert.ok(inc.filesystems.every((f) => f.bytes < 1024 * 1024), 'an incremental carries only what changed');
    for (const fs of ['one', 'two']) assert.deepEqual(tree(join(d.path, 'b', fs)), tree(join(src, fs)));
    const local = createDirDriver(join(d.path, 'b'));
    assert.deepEqual((await local.listVersions('one')).map((v) => v.guid), (await sender.listVersions('one')).map((v) => v.guid));
  });

  it('cancels streams on abort: a cancelled receive leaves nothing, the agents keep serving', async () => {
    const src = `grpc://127.0.0.1:${a.port}/dir:${d.path}/a`;
    const dst = `grpc://127.0.0.1:${b.port}/dir:${d.path}/b`;
    const sender = openEndpoint(src);
    const receiver = openEndpoint(dst);
    const [v] = await sender.listVersions('one');
    const ac = new AbortController();
    const { stream } = await sender.send('one', null, v, { signal: ac.signal });
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    assert.ok(first.length > 0);
    stream.pause();
    // a slow consumer: the stream is not read past what flow control lets through, then aborted
    const feed = new PassThrough();
    const recv = receiver.receive('three', feed, { signal: ac.signal });
    feed.write(first);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await assert.rejects(recv, (err: unknown) => err instanceof TemporaryError);
    stream.destroy();
    assert.deepEqual(await receiver.listVersions('three'), []);
    assert.ok(!(await receiver.listFilesystems()).includes('three'));
    assert.deepEqual(await sender.listFilesystems(), ['one', 'two']);
  });

  it('refuses calls without the right token (UNAUTHENTICATED); health answers without one', async () => {
    const req = { endpoint: `dir:${d.path}/a` };
    const none = await call((cb) => client.listFilesystems(req, new grpc.Metadata(), {}, cb));
    assert.equal(none.err?.code, grpc.status.UNAUTHENTICATED);
    const wrong = await call((cb) => client.listFilesystems(req, bearer('not-the-token'), {}, cb));
    assert.equal(wrong.err?.code, grpc.status.UNAUTHENTICATED);
    assert.equal(await sendStatus(client, { ...req, filesystem: 'one', to: { name: 's1', guid: 'x' } }, new grpc.Metadata()).then((e) => e?.code), grpc.status.UNAUTHENTICATED);
    const ok = await call((cb) => client.listFilesystems(req, bearer(), {}, cb));
    assert.equal(ok.err, null);

    const health = newHealthClient(`127.0.0.1:${a.port}`);
    try {
      const h = await call<{ status?: string }>((cb) => health.check({ service: '' }, new grpc.Metadata(), {}, cb));
      assert.equal(h.err, null);
      assert.equal(h.res?.status, 'SERVING');
      const e = await call<{ status?: string }>((cb) => health.check({ service: 'ferry.v1.Endpoint' }, new grpc.Metadata(), {}, cb));
      assert.equal(e.res?.status, 'SERVING');
      const u = await call((cb) => health.check({ service: 'nope' }, new grpc.Metadata(), {}, cb));
      assert.equal(u.err?.code, grpc.status.NOT_FOUND);
    } finally {
      health.close();
    }

    // the remote driver turns a refusal into a PermanentError (no retries)
    const tokenFile = join(d.path, 'wrong-token');
    writeFileSync(tokenFile, 'wrong\n');
    const prev = process.env.FERRY_TOKEN_FILE;
    process.env.FERRY_TOKEN_FILE = tokenFile;
    try {
      await assert.rejects(openEndpoint(`grpc://127.0.0.1:${a.port}/dir:${d.path}/a`).listFilesystems(), (err: unknown) => err instanceof PermanentError && err.code === 'UNAUTHENTICATED');
    } finally {
      process.env.FERRY_TOKEN_FILE = prev;
    }
  });

  it('answers malformed requests with INVALID_ARGUMENT naming the field', async () => {
    const endpoint = `dir:${d.path}/a`;
    const cases: [string, (cb: (err: grpc.ServiceError | null) => void) => unknown, RegExp][] = [
      ['missing endpoint', (cb) => client.listFilesystems({}, bearer(), {}, cb), /^endpoint: required/],
      ['relative endpoint', (cb) => client.listFilesystems({ endpoint: 'dir:relative' }, bearer(), {}, cb), /^endpoint: .*absolute/],
      ['bad filesystem name', (cb) => client.listVersions({ endpoint, filesystem: '../etc' }, bearer(), {}, cb), /filesystem/],
      ['missing filesystem', (cb) => client.listVersions({ endpoint }, bearer(), {}, cb), /^filesystem: required/],
      ['no filesystems to snapshot', (cb) => client.snapshot({ endpoint, name: 'x' }, bearer(), {}, cb), /^filesystems: /],
      ['missing snapshot name', (cb) => client.snapshot({ endpoint, filesystems: ['one'] }, bearer(), {}, cb), /^name: required/],
    ];
    for (const [what, fn, message] of cases) {
      const { err } = await call(fn);
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, what);
      assert.match(err!.details, message, what);
    }
    const noTo = await sendStatus(client, { endpoint, filesystem: 'one' }, bearer());
    assert.equal(noTo?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(noTo!.details, /^to: required/);
    const noGuid = await sendStatus(client, { endpoint, filesystem: 'one', to: { name: 's1' } }, bearer());
    assert.match(noGuid!.details, /^to\.guid: required/);

    // Receive: the first message must be a header
    const noHeader = await new Promise<grpc.ServiceError | null>((resolve) => {
      const s = client.receive(bearer(), {}, (err) => resolve(err));
      s.write({ chunk: Buffer.from('x') });
      s.end();
    });
    assert.equal(noHeader?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(noHeader!.details, /^header: /);

    // a driver's permanent error keeps its message and its code in the trailing metadata
    const missing = await sendStatus(client, { endpoint, filesystem: 'one', to: { name: 'nope', guid: 'nope', createtxg: 9 } }, bearer());
    assert.equal(missing?.code, grpc.status.FAILED_PRECONDITION, missing?.details);
    assert.ok(String(missing!.metadata.get('ferry-error-code')[0] ?? '').length > 0);
  });

  it('carries each zfs send flag through grpc:// to the agent, which refuses it for a dir endpoint, naming it', async () => {
    const src = join(d.path, 'a');
    mkdirSync(join(src, 'flagged'));
    const remote = openEndpoint(`grpc://127.0.0.1:${a.port}/dir:${src}`);
    const [v] = await remote.snapshot(['flagged'], 'f1');
    for (const flag of ['raw', 'compressed', 'largeBlocks', 'properties', 'allowDecryptedSend'] as const) {
      await assert.rejects(remote.send('flagged', null, v, { flags: { [flag]: true } }), (e: unknown) => e instanceof InvalidArgumentError && e.message.includes(`: ${flag}: a zfs send option`), flag);
    }
  });

  it('refuses an endpoint it does not serve with PERMISSION_DENIED naming it', async () => {
    const other = `dir:${d.path}/b`;
    const { err } = await call((cb) => client.listFilesystems({ endpoint: other }, bearer(), {}, cb));
    assert.equal(err?.code, grpc.status.PERMISSION_DENIED);
    assert.ok(err!.details.includes(other), err!.details);
    const recv = await new Promise<grpc.ServiceError | null>((resolve) => {
      const s = client.receive(bearer(), {}, (e) => resolve(e));
      s.write({ header: { endpoint: other, filesystem: 'one' } });
      s.end();
    });
    assert.equal(recv?.code, grpc.status.PERMISSION_DENIED);
    await assert.rejects(openEndpoint(`grpc://127.0.0.1:${a.port}/${other}`).listFilesystems(), (e: unknown) => e instanceof PermanentError && e.code === 'PERMISSION_DENIED');
    const described = await call((cb) => client.describeReceiver({ endpoint: other }, bearer(), {}, cb));
    assert.equal(described.err?.code, grpc.status.PERMISSION_DENIED);
  });

  it('an agent from before DescribeReceiver (UNIMPLEMENTED) is taken to read btrfs stream protocol 1', async () => {
    const server = new grpc.Server();
    server.addService(serviceDefinition('endpoint'), {} as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    try {
      const old = openEndpoint(`grpc://127.0.0.1:${port}/btrfs:/srv/b`);
      assert.equal(await old.receiveProtocol!(), 1);
      // any other failure is the step's: an unreachable agent is not taken for an old one
      await assert.rejects(openEndpoint(`grpc://127.0.0.1:${await freePort()}/btrfs:/srv/b`).receiveProtocol!(), (e: unknown) => e instanceof TemporaryError);
    } finally {
      server.forceShutdown();
    }
  });

  it('DescribeReceiver: a dir endpoint reads no btrfs stream (0); a grpc:// dir endpoint has no receiveProtocol to ask', async () => {
    const { err, res } = await call<{ btrfsStreamProtocol?: number }>((cb) => client.describeReceiver({ endpoint: `dir:${d.path}/a` }, bearer(), {}, cb));
    assert.equal(err, null);
    assert.equal(res?.btrfsStreamProtocol, 0);
    assert.equal(openEndpoint(`grpc://127.0.0.1:${a.port}/dir:${d.path}/a`).receiveProtocol, undefined);
  });

  it('destroys one snapshot through the agent; bad arguments and unknown snapshots are refused, naming them', async () => {
    const src = join(d.path, 'a');
    const endpoint = `dir:${src}`;
    mkdirSync(join(src, 'gone'));
    writeFileSync(join(src, 'gone', 'f.txt'), 'one\n');
    const remote = openEndpoint(`grpc://127.0.0.1:${a.port}/${endpoint}`);
    const [x1] = await remote.snapshot(['gone'], 'x1');
    writeFileSync(join(src, 'gone', 'f.txt'), 'two\n');
    const [x2, x3] = [...await remote.snapshot(['gone'], 'x2'), ...await remote.snapshot(['gone'], 'x3')];
    const local = createDirDriver(src);
    await remote.destroySnapshot('gone', 'x1');
    assert.deepEqual((await local.listVersions('gone')).map((v) => v.guid), [x2.guid, x3.guid]);
    assert.ok(!(await remote.listVersions('gone')).some((v) => v.guid === x1.guid));
    assert.equal(readFileSync(join(src, '.ferry', 'snapshots', 'gone', 'x2', 'data', 'f.txt'), 'utf8'), 'two\n');

    // a snapshot that is not there: FAILED_PRECONDITION with its code, a PermanentError naming it for the remote driver
    await assert.rejects(remote.destroySnapshot('gone', 'x1'), (e: unknown) => e instanceof PermanentError && !(e instanceof InvalidArgumentError) && e.code === 'SNAPSHOT_NOT_FOUND' && e.message.includes('gone@x1'));
    const unknown = await call((cb) => client.destroySnapshot({ endpoint, filesystem: 'gone', name: 'nope' }, bearer(), {}, cb));
    assert.equal(unknown.err?.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(unknown.err!.metadata.get('ferry-error-code')[0], 'SNAPSHOT_NOT_FOUND');
    assert.match(unknown.err!.details, /gone@nope/);

    const cases: [string, object, RegExp][] = [
      ['missing endpoint', { filesystem: 'gone', name: 'x2' }, /^endpoint: required/],
      ['missing filesystem', { endpoint, name: 'x2' }, /^filesystem: required/],
      ['missing name', { endpoint, filesystem: 'gone' }, /^name: required/],
      ['bad filesystem', { endpoint, filesystem: '../etc', name: 'x2' }, /^filesystem: invalid filesystem name "\.\.\/etc"/],
      ['bad name', { endpoint, filesystem: 'gone', name: 'x2;rm' }, /^name: invalid snapshot name "x2;rm"/],
      ['a name with the filesystem', { endpoint, filesystem: 'gone', name: 'gone@x2' }, /^name: invalid snapshot name "gone@x2"/],
    ];
    for (const [what, req, message] of cases) {
      const { err } = await call((cb) => client.destroySnapshot(req, bearer(), {}, cb));
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, what);
      assert.match(err!.details, message, what);
    }
    await assert.rejects(remote.destroySnapshot('gone', 'x2;rm'), (e: unknown) => e instanceof InvalidArgumentError && /x2;rm/.test(e.message));
    const denied = await call((cb) => client.destroySnapshot({ endpoint: `dir:${d.path}/b`, filesystem: 'one', name: 's1' }, bearer(), {}, cb));
    assert.equal(denied.err?.code, grpc.status.PERMISSION_DENIED);
    const noToken = await call((cb) => client.destroySnapshot({ endpoint, filesystem: 'gone', name: 'x2' }, new grpc.Metadata(), {}, cb));
    assert.equal(noToken.err?.code, grpc.status.UNAUTHENTICATED);
    assert.deepEqual((await local.listVersions('gone')).map((v) => v.guid), [x2.guid, x3.guid], 'refused calls destroyed nothing');

    // the command, through the agent
    const cli = spawnSync(process.execPath, ['bin/ferry.mjs', 'destroy', `grpc://127.0.0.1:${a.port}/${endpoint}`, 'gone@x2'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FERRY_LOG_LEVEL: 'warn' }, timeout: 60_000 });
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, `destroyed gone@x2 guid ${x2.guid} createtxg ${x2.createtxg} on grpc://127.0.0.1:${a.port}/${endpoint}\n`);
    assert.deepEqual((await local.listVersions('gone')).map((v) => v.guid), [x3.guid]);
  });
});
