import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { freePort } from '../src/cli/embedded-redis.js';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../src/errors/index.js';
import { startAgent, type Agent } from '../src/api/agent-server.js';
import { newEndpointClient, newHealthClient } from '../src/grpc/proto.js';
import { closeRemoteClients } from '../src/grpc/endpoint-channels.js';
import { channelCredentials, serverCredentials } from '../src/grpc/tls.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { openEndpoint, parseEndpoint } from '../src/storage/endpoint.js';
import { makeTestCertificates, type TestCertificates } from './helpers/certs.js';
import { startNodeProcess, stopProcess } from './helpers/processes.js';
import { tempDir } from './helpers/replication.js';

const TOKEN = 'tls-test-token-0123456789';
const ENV = ['FERRY_TOKEN_FILE', 'FERRY_TLS_CA_FILE', 'FERRY_TLS_CERT_FILE', 'FERRY_TLS_KEY_FILE'] as const;

/** Sets the client TLS variables for the calls that follow (unset when not given); `after` restores them. */
function clientTls(o: { ca?: string; cert?: string; key?: string }): void {
  const set = (name: string, v: string | undefined) => { if (v === undefined) delete process.env[name]; else process.env[name] = v; };
  set('FERRY_TLS_CA_FILE', o.ca);
  set('FERRY_TLS_CERT_FILE', o.cert);
  set('FERRY_TLS_KEY_FILE', o.key);
}

/** `node bin/ferry.mjs ...args` to its end: exit code and output. */
function runFerry(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/ferry.mjs', ...args], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.stderr.on('data', (b) => { stderr += b; });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const isTls = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof PermanentError, `a PermanentError, got ${String(err)}`);
  assert.equal(err.code, 'TLS', err.message);
  assert.match(err.message, pattern);
  return true;
};

describe('TLS: ferry agent with --tls-cert/--tls-key/--tls-client-ca, grpcs:// endpoints', () => {
  let d: { path: string; remove(): void };
  let certs: TestCertificates;
  let tokenFile: string;
  let tlsAgent: Agent;
  let mutualAgent: Agent;
  let plainAgent: Agent;
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  const endpoint = () => `dir:${d.path}/a`;
  const url = (scheme: 'grpc' | 'grpcs', agent: Agent | number) => `${scheme}://127.0.0.1:${typeof agent === 'number' ? agent : agent.port}/${endpoint()}`;

  before(async () => {
    d = tempDir('tls');
    mkdirSync(join(d.path, 'pki'));
    certs = makeTestCertificates(join(d.path, 'pki'));
    mkdirSync(join(d.path, 'a', 'one'), { recursive: true });
    mkdirSync(join(d.path, 'b'));
    writeFileSync(join(d.path, 'a', 'one', 'data.txt'), 'over TLS\n');
    tokenFile = join(d.path, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    process.env.FERRY_TOKEN_FILE = tokenFile;
    const common = { endpoints: [endpoint()], token: TOKEN, host: '127.0.0.1', port: 0 };
    tlsAgent = await startAgent({ ...common, credentials: serverCredentials({ certFile: certs.serverCert, keyFile: certs.serverKey }) });
    mutualAgent = await startAgent({ ...common, credentials: serverCredentials({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca }) });
    plainAgent = await startAgent(common);
  });

  after(async () => {
    closeRemoteClients();
    await Promise.all([tlsAgent?.close(1000), mutualAgent?.close(1000), plainAgent?.close(1000)]);
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    d?.remove();
  });

  it('parses grpcs://host:port/<endpoint> as a TLS remote endpoint, a location apart from grpc://', () => {
    assert.deepEqual(parseEndpoint('grpcs://Agent.example:7001/dir:/srv/a/'), {
      kind: 'dir', location: 'grpcs://agent.example:7001/dir:/srv/a', remote: { address: 'agent.example:7001', endpoint: 'dir:/srv/a', tls: true },
    });
    assert.equal(parseEndpoint('grpc://h:1/dir:/x').remote?.tls, false);
    assert.notEqual(parseEndpoint('grpcs://h:1/dir:/x').location, parseEndpoint('grpc://h:1/dir:/x').location);
    for (const bad of ['grpcs://h/dir:/x', 'grpcs://h:1/', 'grpcs://h:1/grpc://h:2/dir:/x', 'grpc://h:1/grpcs://h:2/dir:/x']) {
      assert.throws(() => parseEndpoint(bad), InvalidArgumentError, bad);
    }
  });

  it('a grpcs:// remote driver lists, snapshots and streams a send from a TLS agent', async () => {
    clientTls({ ca: certs.ca });
    const sender = openEndpoint(url('grpcs', tlsAgent));
    assert.deepEqual(await sender.listFilesystems(), ['one']);
    const [v] = await sender.snapshot(['one'], 's1');
    const { stream } = await sender.send('one', null, v);
    const received = await createDirDriver(join(d.path, 'b')).receive('one', stream);
    assert.equal(received.guid, v.guid);
    assert.equal(readFileSync(join(d.path, 'b', 'one', 'data.txt'), 'utf8'), 'over TLS\n');
  });

  it('a plaintext client cannot talk to a TLS agent, nor a TLS client to a plaintext one; the errors say why', async () => {
    clientTls({ ca: certs.ca });
    await assert.rejects(openEndpoint(url('grpc', tlsAgent)).listFilesystems(), (err: unknown) => {
      // the agent only closes the connection: no TLS error to go by, so it stays temporary with a hint
      assert.ok(err instanceof TemporaryError, String(err));
      assert.match(err.message, /closed the connection.*if it serves TLS \(--tls-cert\), use grpcs:\/\//);
      return true;
    });
    await assert.rejects(openEndpoint(url('grpcs', plainAgent)).listFilesystems(), isTls(/TLS handshake failed: .*the agent does not speak TLS: use grpc:\/\//));
  });

  it('an agent that is down is a temporary error, not a TLS one', async () => {
    clientTls({ ca: certs.ca });
    const port = await freePort();
    await assert.rejects(openEndpoint(url('grpcs', port)).listFilesystems(), (err: unknown) => {
      assert.ok(err instanceof TemporaryError, String(err));
      assert.equal(err.code, 'UNAVAILABLE');
      assert.doesNotMatch(err.message, /TLS|certificate/);
      return true;
    });
  });

  it('refuses an agent whose certificate no trusted CA signed: another CA, or the system roots', async () => {
    clientTls({ ca: certs.otherCa });
    await assert.rejects(openEndpoint(url('grpcs', tlsAgent)).listFilesystems(), isTls(/TLS handshake failed: .*certificate.*set FERRY_TLS_CA_FILE to the CA/));
    clientTls({});
    await assert.rejects(openEndpoint(url('grpcs', tlsAgent)).listFilesystems(), isTls(/TLS handshake failed: .*FERRY_TLS_CA_FILE/));
  });

  it('mutual TLS: no client certificate is refused, one from another CA is refused, one from the CA works', async () => {
    clientTls({ ca: certs.ca });
    await assert.rejects(openEndpoint(url('grpcs', mutualAgent)).listFilesystems(), isTls(/certificate required.*FERRY_TLS_CERT_FILE and FERRY_TLS_KEY_FILE/));
    clientTls({ ca: certs.ca, cert: certs.otherClientCert, key: certs.otherClientKey });
    await assert.rejects(openEndpoint(url('grpcs', mutualAgent)).listFilesystems(), (err: unknown) => {
      // under TLS 1.3 the agent refuses the client certificate after the client's handshake: it just closes
      assert.ok(err instanceof TemporaryError, String(err));
      assert.match(err.message, /TLS handshake.*client certificates \(--tls-client-ca\).*FERRY_TLS_CERT_FILE/);
      return true;
    });
    clientTls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    assert.deepEqual(await openEndpoint(url('grpcs', mutualAgent)).listFilesystems(), ['one']);
  });

  it('still needs the token over TLS (UNAUTHENTICATED without it); health answers without one', async () => {
    const creds = channelCredentials({ tls: true, caFile: certs.ca });
    const client = newEndpointClient(tlsAgent.address, creds);
    const health = newHealthClient(tlsAgent.address, creds);
    try {
      const list = (md: grpc.Metadata) => new Promise<grpc.ServiceError | null>((resolve) => client.listFilesystems({ endpoint: endpoint() }, md, {}, (err) => resolve(err)));
      assert.equal((await list(new grpc.Metadata()))?.code, grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${TOKEN}`);
      assert.equal(await list(md), null);
      const h = await new Promise<{ err: grpc.ServiceError | null; status?: string }>((resolve) => health.check({ service: '' }, new grpc.Metadata(), {}, (err, res) => resolve({ err, status: res?.status })));
      assert.equal(h.err, null);
      assert.equal(h.status, 'SERVING');
    } finally {
      client.close();
      health.close();
    }
  });

  it('serverCredentials refuses bad files with InvalidArgumentError naming the flag', () => {
    const garbage = join(d.path, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const cases: [Parameters<typeof serverCredentials>[0], RegExp][] = [
      [{ certFile: join(d.path, 'missing.crt'), keyFile: certs.serverKey }, /^--tls-cert ".*missing\.crt": cannot read it/],
      [{ certFile: certs.serverCert }, /^--tls-cert needs --tls-key/],
      [{ keyFile: certs.serverKey }, /^--tls-key needs --tls-cert/],
      [{ clientCaFile: certs.ca }, /^--tls-client-ca needs --tls-cert and --tls-key/],
      [{ certFile: garbage, keyFile: certs.serverKey }, /^--tls-cert ".*garbage\.pem": no PEM certificate/],
      [{ certFile: certs.serverCert, keyFile: garbage }, /^--tls-key ".*garbage\.pem": not a valid PEM private key/],
      [{ certFile: certs.serverCert, keyFile: certs.clientKey }, /^--tls-key ".*client\.key": does not match the certificate of --tls-cert/],
      [{ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: garbage }, /^--tls-client-ca ".*garbage\.pem": no PEM certificate/],
      [{ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: join(d.path, 'missing-ca.crt') }, /^--tls-client-ca ".*": cannot read it/],
    ];
    for (const [o, message] of cases) {
      assert.throws(() => serverCredentials(o), (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message), JSON.stringify(o));
    }
  });

  it('the remote driver refuses bad client TLS variables, naming the variable', async () => {
    clientTls({ ca: join(d.path, 'missing-ca.crt') });
    await assert.rejects(openEndpoint(url('grpcs', tlsAgent)).listFilesystems(), (err: unknown) => err instanceof InvalidArgumentError && /^FERRY_TLS_CA_FILE ".*missing-ca\.crt": cannot read it/.test(err.message));
    clientTls({ ca: certs.ca, cert: certs.clientCert });
    await assert.rejects(openEndpoint(url('grpcs', mutualAgent)).listFilesystems(), (err: unknown) => err instanceof InvalidArgumentError && /^FERRY_TLS_CERT_FILE needs FERRY_TLS_KEY_FILE/.test(err.message));
    // a receive fails the same way, before any call is made
    await assert.rejects(openEndpoint(url('grpcs', mutualAgent)).receive('x', Readable.from([])), InvalidArgumentError);
  });

  it('`ferry agent --tls-cert --tls-key --tls-client-ca` serves grpcs:// to clients with a certificate of that CA', async () => {
    const port = await freePort();
    const child = await startNodeProcess('bin/ferry.mjs', [
      'agent', '--listen', `127.0.0.1:${port}`, '--endpoint', endpoint(), '--token-file', tokenFile,
      '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-client-ca', certs.ca,
    ], { FERRY_LOG_LEVEL: 'warn' }, `agent on grpcs://127.0.0.1:${port} serving ${endpoint()}`);
    try {
      clientTls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
      assert.deepEqual(await openEndpoint(url('grpcs', port)).listFilesystems(), ['one']);
      clientTls({ ca: certs.ca });
      await assert.rejects(openEndpoint(url('grpcs', port)).listFilesystems(), isTls(/certificate required/));
    } finally {
      await stopProcess(child);
    }
  });

  it('`ferry agent` with an unreadable --tls-cert exits 2 with a message naming the flag', async () => {
    const missing = join(d.path, 'nope.crt');
    const r = await runFerry(['agent', '--listen', '127.0.0.1:0', '--endpoint', endpoint(), '--token-file', tokenFile, '--tls-cert', missing, '--tls-key', certs.serverKey]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^ferry: --tls-cert "${missing.replace(/[.]/g, '\\.')}": cannot read it`));
    assert.doesNotMatch(r.stdout, /agent on/);
  });
});
