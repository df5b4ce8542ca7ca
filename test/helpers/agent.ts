import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/embedded-redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `node bin/ferry.mjs agent --listen 127.0.0.1:<free port> ...args` with `env` added to this
 * process's environment; resolves with what it printed once it listens (its first line).
 */
export async function startAgentProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; port: number; banner: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/ferry.mjs', 'agent', '--listen', `127.0.0.1:${port}`, ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => { out += d; if (out.includes('\n')) resolve(); });
    child.stderr!.on('data', (d) => { err += d; });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code} before listening: ${err}`)));
  });
  return { child, port, banner: out.trim() };
}

/** An agent serving `endpoints` with the token in `tokenFile`; checks that it says so. */
export async function startAgent(endpoints: string[], tokenFile: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; port: number }> {
  const { child, port, banner } = await startAgentProcess([...endpoints.flatMap((e) => ['--endpoint', e]), '--token-file', tokenFile], env);
  assert.match(banner, new RegExp(`agent on grpc://127\\.0\\.0\\.1:${port} serving ${endpoints.join(', ')}`));
  return { child, port };
}
