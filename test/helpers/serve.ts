import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopProcess, until } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Served { child: ChildProcess; out(): string; err(): string; exit: Promise<number | null> }

/**
 * `ferry serve ...` (FERRY_LOG_LEVEL warn unless `env` says; a variable given as undefined is left out);
 * resolves once it says it is serving (after its listener lines).
 */
export async function serve(args: string[], env: Record<string, string | undefined>, startTimeoutMs = 30_000): Promise<Served> {
  const child = spawn(process.execPath, ['bin/ferry.mjs', 'serve', ...args], { cwd: ROOT, env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await Promise.race([
    until('ferry serve to start', () => err.includes('ferry: serving'), startTimeoutMs),
    exit.then((code) => { throw new Error(`ferry serve exited with ${code}: ${err}`); }),
  ]);
  return { child, out: () => out, err: () => err, exit };
}

/** SIGTERM, then SIGKILL after `timeoutMs`; its exit code. */
export async function stop(s: Served, timeoutMs = 15_000): Promise<number | null> {
  await stopProcess(s.child, 'SIGTERM', timeoutMs);
  return s.exit;
}
