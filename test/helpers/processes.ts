import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Starts `node --import tsx <script> ...args` from the repository root; resolves when it prints `readyText` (stdout or stderr). */
export async function startNodeProcess(script: string, args: string[], env: Record<string, string> = {}, readyText = 'ready'): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stderr!.on('data', (d) => { err += d.toString(); if (err.length > 20000) err = err.slice(-10000); if (err.includes(readyText)) resolve(); });
    child.stdout!.on('data', (d) => { out += d.toString(); if (out.includes(readyText)) resolve(); });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before ready: ${err}`)));
  });
  return child;
}

export interface ProcessResult { code: number | null; stdout: string; stderr: string }

/**
 * Runs a command without a shell (from the repository root unless `cwd` says otherwise) to its end:
 * its exit status and all it printed. Never rejects for a non-zero exit; killed after `timeoutMs`.
 */
export function runProcess(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Sends `signal`, then SIGKILL if it has not exited after `killAfterMs`; resolves once it has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(t);
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
