import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createLogger } from '../src/util/logger.js';
import { openTestEngine } from './helpers/engine.js';
import { until } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { registry } from './fixtures/machines.js';

interface Ferry { child: ChildProcess; out(): string; err(): string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

/** `ferry <args>` from bin/ferry.mjs, its output collected. */
function ferry(args: string[], env: Record<string, string>): Ferry {
  const child = spawn(process.execPath, ['bin/ferry.mjs', ...args], { env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, err: () => err, exit };
}

/** Waits for the exit; a process still there after `afterMs` is SIGKILLed, which the caller sees as `signal: 'SIGKILL'`. */
async function exitOf(f: Ferry, afterMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const t = setTimeout(() => f.child.kill('SIGKILL'), afterMs);
  try {
    return await f.exit;
  } finally {
    clearTimeout(t);
  }
}

const stackTrace = /^\s+at .+:\d+:\d+\)?$/m;

describe('long-running commands stop on SIGTERM whatever Redis does', () => {
  for (const command of [['serve', '--metrics', '127.0.0.1:0'], ['worker']]) {
    it(`ferry ${command[0]} exits after SIGTERM once its Redis is gone (SIGKILLed)`, async () => {
      const redis = await startTestRedis();
      const f = ferry([...command, '--key-prefix', `sd${process.pid}${command[0]}`, '--shutdown-timeout-ms', '3000'], { REDIS_URL: redis.url });
      try {
        await until(`ferry ${command[0]} to run`, () => /ferry: (serving|worker running)/.test(f.err()), 30_000);
        process.kill(redis.pid, 'SIGKILL');
        // let the workers notice: their blocking connections fail and reconnect, again and again
        await new Promise((r) => setTimeout(r, 1000));
        f.child.kill('SIGTERM');
        const { code, signal } = await exitOf(f);
        assert.equal(signal, null, `ferry ${command[0]} had to be SIGKILLed; stderr:\n${f.err()}`);
        assert.ok(code === 0 || code === 130, `exit status ${code}; stderr:\n${f.err()}`);
        if (code === 130) assert.match(f.err(), /exiting anyway/);
        // connection errors are single log lines, not multi-line dumps
        assert.doesNotMatch(f.err(), stackTrace, f.err());
      } finally {
        f.child.kill('SIGKILL');
        await redis.stop();
      }
    });
  }

  it('a second SIGTERM exits at once, saying so', async () => {
    const redis = await startTestRedis();
    // a bound long enough that only the second signal can end it first
    const f = ferry(['worker', '--key-prefix', `sd${process.pid}twice`, '--shutdown-timeout-ms', '600000'], { REDIS_URL: redis.url });
    try {
      await until('ferry worker to run', () => f.err().includes('ferry: worker running'), 30_000);
      process.kill(redis.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      f.child.kill('SIGTERM');
      await until('the stop to begin', () => f.err().includes('worker stopping'));
      if (f.child.exitCode === null) {
        f.child.kill('SIGTERM');
        const { code, signal } = await exitOf(f);
        assert.equal(signal, null);
        // it may have finished its stop just before the second signal
        assert.ok(code === 130 || code === 0, `exit status ${code}`);
        if (code === 130) assert.match(f.err(), /SIGTERM again: exiting/);
      }
    } finally {
      f.child.kill('SIGKILL');
      await redis.stop();
    }
  });
});

describe('a printing command whose reader goes away', () => {
  it('`ferry watch | head -1`: ends quietly with status 0 on EPIPE', async () => {
    const redis = await startTestRedis();
    const prefix = `sd${process.pid}watch`;
    const engine = openTestEngine(redis.url, { prefix, registry, logger: createLogger({ level: 'warn', pretty: false }) });
    const f = ferry(['watch', '--key-prefix', prefix, '--from', '0'], { REDIS_URL: redis.url });
    try {
      await engine.start('counter', 'w0', {});
      await until('the first line', () => f.out().includes('\n'), 30_000);
      // what `head -1` does after its line: close the pipe
      f.child.stdout!.destroy();
      // more transitions to print: the next write finds no reader
      const writes = setInterval(() => {
        engine.start('counter', `w${Date.now()}`, {}).catch(() => {});
      }, 100);
      const { code, signal } = await exitOf(f).finally(() => clearInterval(writes));
      assert.equal(signal, null, f.err());
      assert.equal(code, 0, f.err());
      assert.doesNotMatch(f.err(), /EPIPE|stack|Error/, f.err());
    } finally {
      f.child.kill('SIGKILL');
      await engine.close();
      await redis.stop();
    }
  });
});
