// Warm shells (src/storage/shell.ts): a script run once is kept ready in a bash started ahead,
// which then gets its args on its stdin. What a run sees must not depend on which shell ran it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runShell, warmShellPids, type ShellOptions } from '../src/storage/shell.js';
import { runProcess, until } from './helpers/processes.js';

/** prints its $0, its args NUL-terminated, a variable, and what reading stdin gives */
const ECHO = `printf '%s\\0' "$0" "$#" "$@" "\${FERRY_WARM_PROBE-unset}" >&3
if IFS= read -r line; then printf 'stdin:%s\\0' "$line" >&3; else printf 'stdin:eof\\0' >&3; fi
`;

async function echoRun(args: string[], opts: Partial<ShellOptions> = {}, input?: string) {
  const run = runShell(ECHO, 'ferry-warm-test', args, { fds: 4, whole: [3], ...opts });
  if (input !== undefined) run.stdin!.end(input);
  const exit = await run.closed;
  return { pid: run.pid, exit, fields: run.text(3).split('\0').slice(0, -1) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const ARGS = ['', 'two words', 'line\nbreak', '-n', 'ünïcødé ✓', '$HOME', "it's", '*'];

describe('warm shells', () => {
  it('a script run once is run next by a shell started ahead, with the same args, $0, env and stdin as a new one', async () => {
    const first = await echoRun(ARGS);
    assert.deepEqual(first.exit, { code: 0, signal: null });
    const expected = ['ferry-warm-test', String(ARGS.length), ...ARGS, 'unset', 'stdin:eof'];
    assert.deepEqual(first.fields, expected, 'a new shell');

    const ready = await until('a warm shell of the script', () => warmShellPids('ferry-warm-test')[0], 5_000, 10);
    assert.notEqual(ready, first.pid);
    const second = await echoRun(ARGS);
    assert.equal(second.pid, ready, 'the run took the shell started ahead');
    assert.deepEqual(second.fields, expected, 'the warm shell saw what a new one saw');
    assert.deepEqual(second.exit, { code: 0, signal: null });

    // with a pipe to its stdin, the script reads what the caller writes after the args
    const next = await until('the next warm shell', () => warmShellPids('ferry-warm-test')[0], 5_000, 10);
    const fed = await echoRun(['a'], { stdin: true }, 'go\n');
    assert.equal(fed.pid, next, 'the run took the shell started ahead');
    assert.deepEqual(fed.fields, ['ferry-warm-test', '1', 'a', 'unset', 'stdin:go']);

    // another env (or script, name, fds, directory) is another shell, which sees that env
    const other = await echoRun(['b'], { env: { ...process.env, FERRY_WARM_PROBE: 'set' } });
    assert.ok(!warmShellPids().includes(other.pid!) && other.pid !== fed.pid);
    assert.deepEqual(other.fields, ['ferry-warm-test', '1', 'b', 'set', 'stdin:eof']);
  });

  it('an abort ends a run in a warm shell as in a new one', async () => {
    const script = 'echo started >&3; sleep 30';
    const opts = { fds: 4 };
    await runShell(script, 'ferry-warm-sleep', [], { ...opts, signal: AbortSignal.timeout(100) }).closed;
    const ready = await until('a warm shell of the script', () => warmShellPids('ferry-warm-sleep')[0], 5_000, 10);
    const ac = new AbortController();
    const run = runShell(script, 'ferry-warm-sleep', [], { ...opts, signal: ac.signal });
    assert.equal(run.pid, ready, 'the run took the shell started ahead');
    await run.when(3, (t) => t.includes('started'));
    ac.abort();
    const exit = await run.closed;
    assert.equal(exit.signal, 'SIGTERM');
    assert.ok(!alive(run.pid!));
  });

  it('FERRY_WARM_SHELLS=0 keeps none; long argument lists start a shell of their own', async () => {
    process.env.FERRY_WARM_SHELLS = '0';
    try {
      const off = runShell('echo off >&3', 'ferry-warm-off', [], { fds: 4 });
      await off.closed;
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(warmShellPids('ferry-warm-off'), [], 'no shell started ahead');
    } finally {
      delete process.env.FERRY_WARM_SHELLS;
    }
    // bash would read a long list from its stdin a byte at a time: it goes on a new shell's command line
    const script = 'printf %s "$1" | wc -c >&3';
    for (let i = 0; i < 2; i++) {
      const run = runShell(script, 'ferry-warm-long', ['y'.repeat(5000)], { fds: 4 });
      await run.closed;
      assert.equal(run.text(3).trim(), '5000');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(warmShellPids('ferry-warm-long'), [], 'no shell started ahead');
    }
  });

  it('at most eight stay idle: the oldest ends', async () => {
    const started: number[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `ferry-warm-cap-${i}`;
      await runShell('echo hi >&3', name, [], { fds: 4 }).closed;
      started.push(await until(`a warm shell of ${name}`, () => warmShellPids(name)[0], 5_000, 10));
    }
    assert.equal(warmShellPids().length, 8);
    const kept = new Set(warmShellPids());
    const ended = started.filter((p) => !kept.has(p));
    assert.ok(ended.length >= 2, `the oldest left the pool: ${ended.join(', ')}`);
    await until('the shells left out to exit', () => ended.every((p) => !alive(p)), 10_000, 20);
  });

  it('an idle warm shell keeps no process alive, and ends with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-warm-'));
    try {
      const child = join(dir, 'child.mts');
      writeFileSync(child, `import { runShell, warmShellPids } from ${JSON.stringify(join(process.cwd(), 'src/storage/shell.ts'))};
await runShell('echo hi >&3', 'ferry-warm-exit', [], { fds: 4 }).closed;
for (let i = 0; i < 200 && warmShellPids().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify(warmShellPids()));
`);
      // returning from the module is all it does: a warm shell holding the event loop would hang it
      const out = await runProcess(process.execPath, ['--import', 'tsx', child], { timeoutMs: 30_000 });
      assert.equal(out.code, 0, out.stderr);
      const pids = JSON.parse(out.stdout.trim()) as number[];
      assert.equal(pids.length, 1, 'the child had a warm shell idle when it ended');
      await until('the warm shell to end with its process', () => !alive(pids[0]), 10_000, 20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
