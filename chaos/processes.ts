import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figures } from './figures.js';

/** the repository root (this file is chaos/processes.ts) */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FERRY = join(ROOT, 'bin', 'ferry.mjs');

const TAIL = 8000;
/** how long a process may take to exit after SIGTERM before it counts as a shutdown hang */
const STOP_GRACE_MS = 15_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `node bin/ferry.mjs ...` process the chaos run started and watches. */
export class FerryProcess {
  private out = '';
  private err = '';
  /** set before every signal the chaos run sends: an exit after it is not a crash */
  private killedByUs = false;
  readonly exited: Promise<Exit>;
  exit: Exit | null = null;

  constructor(readonly name: string, readonly child: ChildProcess, onExit: (p: FerryProcess, e: Exit, killedByUs: boolean) => void) {
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => (this.out = (this.out + d).slice(-TAIL * 4)));
    child.stderr?.on('data', (d: string) => (this.err = (this.err + d).slice(-TAIL)));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      onExit(this, this.exit, this.killedByUs);
      resolve(this.exit);
    }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  stdout(): string {
    return this.out;
  }

  stderr(): string {
    return this.err;
  }

  /** Sends a signal as the chaos run's own fault (or stop): the exit it causes is expected. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.alive) return;
    this.killedByUs = true;
    this.child.kill(signal);
  }

  /** The chaos run will kill it by other means (strace fault injection): its death is expected, not a crash. */
  expectKill(): void {
    this.killedByUs = true;
  }

  /** Resolves once `text` appears on stdout or stderr; rejects if the process exits first or after `timeoutMs`. */
  async waitFor(text: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const found = () => {
      const all = `${this.out}\n${this.err}`;
      if (typeof text === 'string') return all.includes(text) ? text : null;
      return text.exec(all)?.[0] ?? null;
    };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = found();
      if (hit !== null) return hit;
      if (!this.alive) throw new Error(`${this.name} exited (${this.exit!.code ?? this.exit!.signal}) before printing ${String(text)}: ${this.err.slice(-1500)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${String(text)} within ${timeoutMs} ms: ${this.err.slice(-1500)}`);
      await sleep(50);
    }
  }
}

export interface OneShot extends Exit {
  stdout: string;
  stderr: string;
  /** killed after its timeout */
  timedOut: boolean;
}

/**
 * Spawns ferry's CLI processes and counts the ones that die on their own (process crashes), and
 * the ones that hang on SIGTERM. Every process it started is stopped by `stopAll()`.
 */
export class Processes {
  private readonly live = new Set<FerryProcess>();

  /**
   * `cwd`: where the processes run (a scratch dir of the scenario, never the repository: a
   * relative path in a fuzzed message resolves there).
   */
  constructor(private readonly figures: Figures, private readonly env: Record<string, string>, private readonly cwd: string) {}

  /** A long-running ferry process (worker, agent, serve): any exit it was not asked for is a crash. */
  spawn(name: string, args: string[], env: Record<string, string> = {}): FerryProcess {
    const child = spawn(process.execPath, [FERRY, ...args], {
      cwd: this.cwd, env: { ...process.env, ...this.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new FerryProcess(name, child, (proc, e, killedByUs) => {
      this.live.delete(proc);
      if (!killedByUs) this.figures.add('processCrashes', 1, `${proc.name} (pid ${proc.pid}) exited on its own (${e.code ?? e.signal}): ${proc.stderr().slice(-800)}`);
    });
    this.live.add(p);
    return p;
  }

  /**
   * A one-shot ferry command, run to its end. Statuses 0-2 are answers (ok, run failed, bad input);
   * 3 (an unexpected error) or death by a signal is counted as a crash.
   */
  async run(name: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<OneShot> {
    const child = spawn(process.execPath, [FERRY, ...args], {
      cwd: this.cwd, env: { ...process.env, ...this.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    const p = new FerryProcess(name, child, (proc, e, killedByUs) => {
      this.live.delete(proc);
      if (!killedByUs && (e.signal !== null || (e.code ?? 0) >= 3)) {
        this.figures.add('processCrashes', 1, `\`ferry ${args.join(' ')}\` exited ${e.code ?? e.signal}: ${proc.stderr().slice(-800)}`);
      }
    });
    this.live.add(p);
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    const e = await p.exited;
    clearTimeout(timer);
    return { ...e, stdout: p.stdout(), stderr: p.stderr(), timedOut };
  }

  /** SIGTERM, then SIGKILL after a grace period (counted as a shutdown hang). */
  async stop(p: FerryProcess): Promise<void> {
    if (!p.alive) return;
    p.kill('SIGTERM');
    const hung = await Promise.race([p.exited.then(() => false), sleep(STOP_GRACE_MS).then(() => true)]);
    if (hung) {
      this.figures.add('shutdownHangs', 1, `${p.name} (pid ${p.pid}) still ran ${STOP_GRACE_MS / 1000} s after SIGTERM`);
      p.kill('SIGKILL');
      await p.exited;
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((p) => this.stop(p)));
  }

  /** Synchronous last resort (a second Ctrl-C): SIGKILL everything still running. */
  killAll(): void {
    for (const p of this.live) p.kill('SIGKILL');
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Bytes a process has written so far (/proc/PID/io wchar), or null when it is gone. */
export function writtenBytes(pid: number): number | null {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(/^wchar: (\d+)/m.exec(io)?.[1] ?? NaN);
  } catch {
    return null;
  }
}
