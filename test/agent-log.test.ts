import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { appendEntry, commit, createFileLogSource, createPartition, registerConsumer } from '../src/archiver/log-source/index.js';
import { openLogSource } from '../src/archiver/open-log-source.js';
import { defaultConsumer } from '../src/archiver/archive-target.js';
import { entryKey } from '../src/archiver/contracts.js';
import { startAgent as startAgentInProcess, type Agent } from '../src/api/agent-server.js';
import { newEndpointClient, type EndpointClient } from '../src/grpc/proto.js';
import { closeRemoteClients } from '../src/grpc/endpoint-channels.js';
import { createRemoteLogSource, parseLogSourceUrl } from '../src/archiver/log-source/remote.js';
import { InvalidArgumentError, PermanentError } from '../src/errors/index.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';
import { archiveOnce, archiverEngine } from './helpers/archiver.js';
import { stopProcess } from './helpers/processes.js';
import { startAgentProcess } from './helpers/agent.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TOKEN = 'agent-log-test-token-0123456789';
const ENTRIES = (root: string, s: string, p: string) => join(root, s, p, 'entries');

function bearer(token = TOKEN): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

function call(fn: (cb: (err: grpc.ServiceError | null) => void) => unknown): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => { fn((err) => resolve(err)); });
}

function readEntryStatus(client: EndpointClient, req: object, md: grpc.Metadata): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const s = client.readEntry(req, md);
    s.on('data', () => {});
    s.on('error', (e) => resolve(e as grpc.ServiceError));
    s.on('end', () => resolve(null));
  });
}

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('ferry agent --log-root: the log-source calls and grpc:// log sources', () => {
  let d: { path: string; remove(): void };
  let log: string;
  let agent: { child: ChildProcess; port: number; banner: string };
  let bare: Agent;
  let client: EndpointClient;
  let url: string;
  const savedTokenFile = process.env.FERRY_TOKEN_FILE;

  before(async () => {
    d = tempDir('agent-log');
    log = join(d.path, 'log');
    mkdirSync(join(d.path, 'fs'));
    const tokenFile = join(d.path, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    process.env.FERRY_TOKEN_FILE = tokenFile;
    // a file entry, a directory entry, and one bigger than a gRPC chunk; 4 committed, 5 only appended
    await appendEntry(log, 'st', 'p1', 1, Buffer.from('one\n'));
    await appendEntry(log, 'st', 'p1', 2, { 'data.bin': randomBytes(1000), 'meta/info.txt': Buffer.from('lsn 2\n') });
    await appendEntry(log, 'st', 'p1', 3, randomBytes(700 * 1024 + 13));
    await appendEntry(log, 'st', 'p1', 4, Buffer.from('four\n'));
    await commit(log, 'st', 'p1', 4);
    await appendEntry(log, 'st', 'p1', 5, Buffer.from('five, not committed\n'));
    await registerConsumer(log, 'st', 'p1', 'zero'); // registered at 0: the position must come back as 0, not absent
    await createPartition(log, 'st', 'empty');
    agent = await startAgentProcess(['--allow', `dir:${d.path}/fs`, '--log-root', log, '--token-file', tokenFile]);
    url = `grpc://127.0.0.1:${agent.port}`;
    // an agent serving endpoints only (in process: the same server the command starts)
    bare = await startAgentInProcess({ endpoints: [`dir:${d.path}/fs`], token: TOKEN, host: '127.0.0.1', port: 0 });
    client = newEndpointClient(`127.0.0.1:${agent.port}`);
  });

  after(async () => {
    client?.close();
    closeRemoteClients();
    await bare?.close(1000);
    if (agent) await stopProcess(agent.child);
    if (savedTokenFile === undefined) delete process.env.FERRY_TOKEN_FILE;
    else process.env.FERRY_TOKEN_FILE = savedTokenFile;
    d?.remove();
  });

  it('starts with --allow and --log-root and says what it serves', () => {
    assert.equal(agent.banner, `agent on grpc://127.0.0.1:${agent.port} serving dir:${d.path}/fs, log root ${log}`);
  });

  it('parses grpc://host:port with or without a trailing slash, and nothing else', () => {
    assert.deepEqual(parseLogSourceUrl('grpc://LocalHost:7001/'), { url: 'grpc://localhost:7001', address: 'localhost:7001' });
    assert.deepEqual(parseLogSourceUrl('grpc://[::1]:7001'), { url: 'grpc://[::1]:7001', address: '[::1]:7001' });
    for (const bad of ['grpc://h', 'grpc://h:0', 'grpc://h:1/log', 'grpc://h:1//', 'grpc:/h:1']) {
      assert.throws(() => openLogSource(bad), InvalidArgumentError, bad);
    }
    assert.equal(openLogSource(`${url}/`).root, url);
    assert.equal(openLogSource(log).root, log);
  });

  it('lists partitions and reads entries exactly as the local log source does', async () => {
    const local = createFileLogSource(log);
    const remote = createRemoteLogSource(url);
    const listed = await remote.listPartitions();
    assert.deepEqual(listed, await local.listPartitions());
    assert.deepEqual(listed.map((p) => [p.storage, p.partition, p.lowWaterMark, p.highWaterMark]), [['st', 'empty', 1, 0], ['st', 'p1', 1, 4]]);
    assert.deepEqual(listed[1].positions, { zero: 0 });
    const ref = { storage: 'st', partition: 'p1' };
    assert.deepEqual(await remote.partitionState(ref), await local.partitionState(ref));
    for (const lsn of [1, 2, 3, 4]) {
      const want = await local.readEntry(ref, lsn);
      const got = await remote.readEntry(ref, lsn);
      assert.equal(got.size, want.size, `size of entry ${lsn}`);
      const [a, b] = await Promise.all([bytes(got.stream), bytes(want.stream)]);
      assert.ok(a.equals(b), `entry ${lsn} differs`);
      assert.equal(a.length, want.size);
    }
    // the log source's own errors come back typed, with their codes
    await assert.rejects(remote.readEntry(ref, 5), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_COMMITTED');
    await assert.rejects(remote.partitionState({ storage: 'st', partition: 'nope' }), (e: unknown) => e instanceof PermanentError && e.code === 'PARTITION_NOT_FOUND');
  });

  it('acknowledges (never backwards, never past the committed LSN) and prunes below the lowest position', async () => {
    const remote = createRemoteLogSource(url);
    const ref = { storage: 'st', partition: 'p1' };
    const position = () => Number(readFileSync(join(log, 'st', 'p1', 'positions', 'archiver'), 'utf8'));
    await remote.acknowledge(ref, 'archiver', 0); // registers
    assert.equal(position(), 0);
    await remote.acknowledge(ref, 'archiver', 3);
    await remote.acknowledge(ref, 'archiver', 2);
    assert.equal(position(), 3, 'a lower acknowledgement does not move the position back');
    await assert.rejects(remote.acknowledge(ref, 'archiver', 5), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_COMMITTED');
    assert.equal(position(), 3);
    // "zero" still holds position 0: nothing may go
    assert.equal(await remote.prune(ref), 0);
    await remote.acknowledge(ref, 'zero', 4);
    assert.equal(await remote.prune(ref), 2, 'entries 1 and 2 are below the lowest position (3)');
    assert.deepEqual(readdirSync(ENTRIES(log, 'st', 'p1')).map(Number).sort((a, b) => a - b), [3, 4, 5]);
    assert.deepEqual((await remote.partitionState(ref)).positions, { archiver: 3, zero: 4 });
    assert.equal((await remote.partitionState(ref)).lowWaterMark, 3);
    await assert.rejects(remote.readEntry(ref, 1), (e: unknown) => e instanceof PermanentError && e.code === 'ENTRY_NOT_FOUND');
    assert.equal(await remote.acknowledgeAndPrune(ref, 'archiver', 4), 1);
    assert.deepEqual(readdirSync(ENTRIES(log, 'st', 'p1')).map(Number).sort((a, b) => a - b), [4, 5]);
  });

  it('answers bad requests with INVALID_ARGUMENT naming the field', async () => {
    const md = bearer();
    const cases: [string, (cb: (err: grpc.ServiceError | null) => void) => unknown, RegExp][] = [
      ['no storage', (cb) => client.getPartition({ partition: 'p1' }, md, {}, cb), /^storage: required/],
      ['bad storage', (cb) => client.getPartition({ storage: '../st', partition: 'p1' }, md, {}, cb), /^storage: /],
      ['no partition', (cb) => client.prune({ storage: 'st' }, md, {}, cb), /^partition: required/],
      ['bad partition', (cb) => client.prune({ storage: 'st', partition: 'a/b' }, md, {}, cb), /^partition: /],
      ['no consumer', (cb) => client.acknowledge({ storage: 'st', partition: 'p1', lsn: 1 }, md, {}, cb), /^consumer: required/],
      ['bad consumer', (cb) => client.acknowledge({ storage: 'st', partition: 'p1', consumer: '.hidden', lsn: 1 }, md, {}, cb), /^consumer: /],
      ['negative lsn', (cb) => client.acknowledge({ storage: 'st', partition: 'p1', consumer: 'archiver', lsn: -1 }, md, {}, cb), /^lsn: /],
    ];
    for (const [what, fn, message] of cases) {
      const err = await call(fn);
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, what);
      assert.match(err!.details, message, what);
    }
    const noLsn = await readEntryStatus(client, { storage: 'st', partition: 'p1' }, md);
    assert.equal(noLsn?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(noLsn!.details, /^lsn: must be an integer >= 1/);
    const badName = await readEntryStatus(client, { storage: 'st', partition: '..', lsn: 4 }, md);
    assert.match(badName!.details, /^partition: /);
    // the remote log source passes them on as InvalidArgumentError
    await assert.rejects(createRemoteLogSource(url).acknowledge({ storage: 'st', partition: 'p1' }, 'no/slash', 1), InvalidArgumentError);
  });

  it('refuses calls without the right token (UNAUTHENTICATED)', async () => {
    assert.equal((await call((cb) => client.listPartitions({}, new grpc.Metadata(), {}, cb)))?.code, grpc.status.UNAUTHENTICATED);
    assert.equal((await call((cb) => client.acknowledge({ storage: 'st', partition: 'p1', consumer: 'x', lsn: 1 }, bearer('wrong'), {}, cb)))?.code, grpc.status.UNAUTHENTICATED);
    assert.equal((await readEntryStatus(client, { storage: 'st', partition: 'p1', lsn: 4 }, new grpc.Metadata()))?.code, grpc.status.UNAUTHENTICATED);
    assert.ok(!existsSync(join(log, 'st', 'p1', 'positions', 'x')), 'a refused acknowledgement registers nobody');
    const wrong = createRemoteLogSource(url, { token: 'wrong' });
    await assert.rejects(wrong.listPartitions(), (e: unknown) => e instanceof PermanentError && e.code === 'UNAUTHENTICATED');
  });

  it('an agent without --log-root answers FAILED_PRECONDITION', async () => {
    const remote = createRemoteLogSource(`grpc://127.0.0.1:${bare.port}`);
    await assert.rejects(remote.listPartitions(), (e: unknown) => e instanceof PermanentError && e.code === 'NO_LOG_SOURCE' && /start it with --log-root/.test(e.message));
    const raw = newEndpointClient(`127.0.0.1:${bare.port}`);
    try {
      const err = await readEntryStatus(raw, { storage: 'st', partition: 'p1', lsn: 1 }, bearer());
      assert.equal(err?.code, grpc.status.FAILED_PRECONDITION);
      assert.equal(err?.details, 'this agent serves no log source: start it with --log-root');
    } finally {
      raw.close();
    }
  });
});

describe('ferry archive --log grpc://: archiving a remote log source through the engine', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { closeRemoteClients(); await redis?.stop(); });

  it('archives every committed entry of an agent\'s log root into a file:// sink, acknowledging and pruning there', async () => {
    const d = tempDir('agent-arc');
    const { engine } = archiverEngine(redis.url);
    const savedTokenFile = process.env.FERRY_TOKEN_FILE;
    let agent: { child: ChildProcess; port: number } | null = null;
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      for (const p of ['a', 'b']) {
        for (let lsn = 1; lsn <= 6; lsn++) await appendEntry(log, 'st', p, lsn, lsn % 2 ? randomBytes(300 * 1024) : { 'x.bin': randomBytes(512), 'y/z.txt': Buffer.from(`${p} ${lsn}\n`) });
        await commit(log, 'st', p, 6);
      }
      await appendEntry(log, 'st', 'a', 7, Buffer.from('appended, not committed\n'));
      // what each archived object must be: the local source's tarball of the entry
      const local = createFileLogSource(log);
      const want = new Map<string, string>();
      for (const p of ['a', 'b']) for (let lsn = 1; lsn <= 6; lsn++) want.set(entryKey({ storage: 'st', partition: p }, lsn), sha256(await bytes((await local.readEntry({ storage: 'st', partition: p }, lsn)).stream)));
      const tokenFile = join(d.path, 'token');
      writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      process.env.FERRY_TOKEN_FILE = tokenFile; // the engine's workers run in this process
      agent = await startAgentProcess(['--log-root', log, '--token-file', tokenFile]);

      const all = await archiveOnce(engine, `grpc://127.0.0.1:${agent.port}/`, `file://${sinkDir}`);
      assert.deepEqual(all.map((s) => [s.partition, s.state, s.archived, s.nextLsn]), [['a', 'Idle', 6, 7], ['b', 'Idle', 6, 7]]);
      for (const [key, sum] of want) {
        assert.equal(sha256(readFileSync(join(sinkDir, key))), sum, key);
      }
      // the archiver's position (its consumer is named after the sink) moved on the agent's root,
      // which pruned below it (6 stays, 7 is not committed)
      for (const p of ['a', 'b']) {
        assert.equal(readFileSync(join(log, 'st', p, 'positions', defaultConsumer(`file://${sinkDir}`)), 'utf8').trim(), '6');
        assert.deepEqual(readdirSync(ENTRIES(log, 'st', p)).map(Number), p === 'a' ? [6, 7] : [6]);
      }
    } finally {
      await engine.close();
      if (agent) await stopProcess(agent.child);
      if (savedTokenFile === undefined) delete process.env.FERRY_TOKEN_FILE;
      else process.env.FERRY_TOKEN_FILE = savedTokenFile;
      d.remove();
    }
  });

  it('the command: `ferry archive --log grpc://HOST:PORT --sink file://... --once` with FERRY_TOKEN_FILE', async () => {
    const d = tempDir('agent-arc-cli');
    let agent: { child: ChildProcess; port: number } | null = null;
    try {
      const log = join(d.path, 'log');
      const sinkDir = join(d.path, 'sink');
      for (let lsn = 1; lsn <= 3; lsn++) await appendEntry(log, 'st', 'c', lsn, Buffer.from(`entry ${lsn}\n`));
      await commit(log, 'st', 'c', 3);
      const tokenFile = join(d.path, 'token');
      writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      agent = await startAgentProcess(['--log-root', log, '--token-file', tokenFile]);
      const args = ['bin/ferry.mjs', '--key-prefix', `agentlogcli${process.pid}`, 'archive', '--log', `grpc://127.0.0.1:${agent.port}`, '--sink', `file://${sinkDir}`, '--consumer', 'offsite_1', '--once', '--json'];
      const run = (env: Record<string, string | undefined>) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, FERRY_LOG_LEVEL: 'warn', REDIS_URL: redis.url, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b) => (stdout += b));
        child.stderr.on('data', (b) => (stderr += b));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
      // without a token the scan fails at once and names the variable
      const noToken = await run({ FERRY_TOKEN_FILE: undefined });
      assert.notEqual(noToken.code, 0);
      assert.match(noToken.stderr, /FERRY_TOKEN_FILE/);
      const r = await run({ FERRY_TOKEN_FILE: tokenFile });
      assert.equal(r.code, 0, r.stderr);
      const sum = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.deepEqual([sum.consumer, sum.partitions, sum.archived, sum.failed.length], ['offsite_1', 1, 3, 0]);
      for (let lsn = 1; lsn <= 3; lsn++) assert.ok(existsSync(join(sinkDir, entryKey({ storage: 'st', partition: 'c' }, lsn))), `entry ${lsn} archived`);
      // --consumer travels with every Acknowledge: the agent's root has that position, and no other
      assert.deepEqual(readdirSync(join(log, 'st', 'c', 'positions')), ['offsite_1']);
      assert.equal(readFileSync(join(log, 'st', 'c', 'positions', 'offsite_1'), 'utf8').trim(), '3');
    } finally {
      if (agent) await stopProcess(agent.child);
      d.remove();
    }
  });
});
