// Commands run one after another by one bash (src/storage/shell-sequence.ts): in order, stopping
// at the first failure with that command's own stderr; an abort ends it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runShellSequence } from '../src/storage/shell-sequence.js';

describe('shell sequence', () => {
  it('runs every command in order; stops at the first failure, which carries its own stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-seq-'));
    try {
      const touch = (n: string) => ['/bin/sh', '-c', `echo noise-${n} >&2; : > ${join(dir, n)}`];
      const all = await runShellSequence([touch('a'), touch('b'), touch('c')]);
      assert.deepEqual(all, { done: 3 });
      assert.ok(['a', 'b', 'c'].every((n) => existsSync(join(dir, n))));

      const stopped = await runShellSequence([touch('d'), ['/bin/sh', '-c', 'echo the reason >&2; exit 7'], touch('e')]);
      assert.equal(stopped.done, 1);
      assert.deepEqual(stopped.failed, { index: 1, code: 7, signal: null, stderr: 'the reason\n' });
      assert.ok(existsSync(join(dir, 'd')) && !existsSync(join(dir, 'e')), 'nothing after the failure ran');

      const missing = await runShellSequence([['/nonexistent/tool']]);
      assert.equal(missing.failed?.index, 0);
      assert.equal(missing.failed?.code, 127);
      assert.match(missing.failed!.stderr, /nonexistent/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('thousands of commands go to several shells, in order, each command line within the limit; a failure is counted across them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-seq-'));
    try {
      const long = 'x'.repeat(400);
      // 6,000 commands of about 420 bytes: 2.5 MB of arguments, more than one command line holds
      // (ARG_MAX), and more commands than one shell takes; `:` is bash's no-op builtin, so nothing forks
      const commands = Array.from({ length: 6000 }, (_, i) => [':', long, String(i)]);
      commands[5500] = ['/bin/sh', '-c', 'echo late failure >&2; exit 3', long];
      const o = await runShellSequence(commands);
      assert.equal(o.done, 5500);
      assert.deepEqual(o.failed, { index: 5500, code: 3, signal: null, stderr: 'late failure\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an abort ends the sequence at once', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const running = runShellSequence([['/bin/sleep', '30'], ['/bin/true']], { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const o = await running;
    assert.ok(Date.now() - started < 10_000);
    assert.equal(o.done, 0);
    assert.equal(o.failed?.index, -1, 'the shell itself was killed');
  });
});
