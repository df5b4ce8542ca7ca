import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { makeTestCertificates, type TestCertificates } from './helpers/certs.js';
import { runProcess, stopProcess, until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

async function ferry(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runProcess(process.execPath, ['bin/ferry.mjs', ...args], { env: { FERRY_LOG_LEVEL: 'warn', ...env } });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe('ferry serve --grpc with mutual TLS, and the CLI with --server grpcs://', () => {
  let redis: EmbeddedRedis;
  let d: { path: string; remove(): void };
  let certs: TestCertificates;
  let served: ChildProcess | undefined;
  let port = 0;
  let tokenFile: string;

  before(async () => {
    d = tempDir('svc-tls');
    certs = makeTestCertificates(d.path);
    tokenFile = join(d.path, 'token');
    writeFileSync(tokenFile, 'svc-tls-token\n');
    redis = await startTestRedis();
    port = await freePort();
    served = spawn(process.execPath, ['bin/ferry.mjs', 'serve', '--key-prefix', 'svctls', '--grpc', `127.0.0.1:${port}`, '--token-file', tokenFile, '--no-metrics',
      '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-client-ca', certs.ca], { cwd: ROOT, env: { ...process.env, REDIS_URL: redis.url, FERRY_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    served.stdout!.on('data', (x) => (out += x));
    await until('serve to listen', () => out.includes(`orchestrator on grpcs://127.0.0.1:${port}`), 30_000);
  });

  after(async () => {
    if (served) await stopProcess(served);
    await redis?.stop();
    d?.remove();
  });

  it('answers a client with the CA and a client certificate, and refuses one without', async () => {
    const base = { FERRY_TOKEN_FILE: tokenFile, FERRY_TLS_CA_FILE: certs.ca };
    const ok = await ferry(['job', 'list', '--json', '--server', `grpcs://127.0.0.1:${port}`], { ...base, FERRY_TLS_CERT_FILE: certs.clientCert, FERRY_TLS_KEY_FILE: certs.clientKey });
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(JSON.parse(ok.out.trim()), { jobs: [] });
    const created = await ferry(['job', 'create', 'j', '--sender', 'dir:/tmp/ferry-none-s', '--receiver', 'dir:/tmp/ferry-none-r', '--server', `grpcs://127.0.0.1:${port}`], { ...base, FERRY_TLS_CERT_FILE: certs.clientCert, FERRY_TLS_KEY_FILE: certs.clientKey });
    assert.equal(created.code, 0, created.err);
    const missing = await ferry(['job', 'show', 'nope', '--server', `grpcs://127.0.0.1:${port}`], { ...base, FERRY_TLS_CERT_FILE: certs.clientCert, FERRY_TLS_KEY_FILE: certs.clientKey });
    assert.equal(missing.code, 2, 'NOT_FOUND is a usage error, as without --server');
    assert.match(missing.err, /no job named "nope"/);

    const noCert = await ferry(['job', 'list', '--server', `grpcs://127.0.0.1:${port}`], base);
    assert.notEqual(noCert.code, 0);
    assert.match(noCert.err, /TLS|certificate/i);
    const plain = await ferry(['job', 'list', '--server', `127.0.0.1:${port}`], base);
    assert.notEqual(plain.code, 0);
  });
});
