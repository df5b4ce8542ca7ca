// The local fast path's shell (src/storage/shell-pipe.ts): `send | receive` in one bash, the stream's
// exact length from the sender's I/O counters, each stage's status and stderr apart, the first
// failure named, an abort that ends every process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runShellPipe } from '../src/storage/shell-pipe.js';
import { runProcess } from './helpers/processes.js';

/** Why process accounting cannot be turned on here (a PID namespace and acct(2) need root); in CI the test runs and fails instead. */
function accountingSkip(): string | false {
  if (process.env.CI === 'true') return false;
  if (process.getuid?.() !== 0) return 'needs root (a PID namespace of its own, acct(2))';
  return existsSync('/usr/bin/python3') ? false : 'needs /usr/bin/python3 (to call acct(2))';
}

/** acct(2) on the file $1, then exec the rest: what accton does, without the acct package (whose install starts accounting machine-wide) */
const ACCT_ON = 'import ctypes, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\nif libc.acct(sys.argv[1].encode()) != 0: sys.exit("acct: " + os.strerror(ctypes.get_errno()))\nos.execv(sys.argv[2], sys.argv[2:])';

/** running (a zombie waiting for its reaper is dead) */
const alive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('shell pipe', () => {
  it('counts the exact bytes the sender wrote, whatever the receiver does with them', async () => {
    const n = 5 * 1024 * 1024 + 17;
    const o = await runShellPipe(['/usr/bin/head', '-c', String(n), '/dev/urandom'], ['/bin/sh', '-c', 'wc -c >&2']);
    assert.equal(o.first, null);
    assert.equal(o.bytes, n);
    assert.equal(o.receive.stderr.trim(), String(n), 'every byte reached the receiver');
    assert.deepEqual([o.send.code, o.receive.code], [0, 0]);
  });

  it('counts a stream of a few bytes exactly, however soon its sender exits', async () => {
    // bash reaps a child the moment it exits: a count begun after the start could miss it all
    for (let i = 0; i < 40; i++) {
      const o = await runShellPipe(['/usr/bin/printf', 'abc'], ['/bin/sh', '-c', 'cat >/dev/null']);
      assert.equal(o.first, null);
      assert.equal(o.bytes, 3, `run ${i}`);
    }
  });

  it('counts exactly with process accounting on (acct(2) adds a record to every exiting process\'s writes)', { skip: accountingSkip() }, async () => {
    // in a PID namespace of its own, whose accounting touches no process of the other tests
    const dir = mkdtempSync(join(tmpdir(), 'ferry-shellpipe-acct-'));
    try {
      const file = join(dir, 'pacct');
      writeFileSync(file, '');
      const n = 100_003;
      const code = `import { runShellPipe } from ${JSON.stringify(new URL('../src/storage/shell-pipe.ts', import.meta.url).href)};
        const o = await runShellPipe(['/usr/bin/head', '-c', '${n}', '/dev/urandom'], ['/bin/sh', '-c', 'wc -c >&2'], { after: ['/bin/true'] });
        console.log(JSON.stringify({ bytes: o.bytes, received: o.receive.stderr.trim(), first: o.first }));`;
      const r = await runProcess('unshare', ['--pid', '--fork', '--mount', '--mount-proc', '/usr/bin/python3', '-c', ACCT_ON, file,
        process.execPath, '--import', 'tsx', '--input-type=module', '-e', code]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(statSync(file).size > 0, 'processes were accounted');
      const o = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.deepEqual(o, { bytes: n, received: String(n), first: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a sender that fails by itself is the failure, even when the receiver took what came', async () => {
    // senders that fork nothing (the shell's builtins; perl-base, which every Debian has): with
    // process accounting on, a child's exit record would count as written (see the test above)
    const o = await runShellPipe(['/bin/sh', '-c', "printf '%01000d' 0; echo boom >&2; exit 3"], ['/bin/sh', '-c', 'cat >/dev/null']);
    assert.equal(o.first, 'send');
    assert.equal(o.send.code, 3);
    assert.match(o.send.stderr, /boom/);
    assert.equal(o.receive.code, 0);
    assert.equal(o.bytes, 1000);
  });

  it('a receiver that gives up is the failure; the sender dies of the broken pipe', async () => {
    const o = await runShellPipe(['/usr/bin/yes'], ['/bin/sh', '-c', 'head -c 10 >/dev/null; echo nope >&2; exit 4']);
    assert.equal(o.first, 'receive');
    assert.equal(o.receive.code, 4);
    assert.match(o.receive.stderr, /nope/);
    assert.equal(o.send.signal, 'SIGPIPE');
  });

  it('a command that does not exist is its stage\'s failure', async () => {
    const o = await runShellPipe(['/nonexistent/sender'], ['/bin/sh', '-c', 'cat >/dev/null']);
    assert.equal(o.first, 'send');
    assert.equal(o.send.code, 127);
    assert.match(o.send.stderr, /No such file/);
    const r = await runShellPipe(['/usr/bin/head', '-c', '10', '/dev/zero'], ['/nonexistent/receiver']);
    assert.equal(r.first, 'receive');
    assert.equal(r.receive.code, 127);
    assert.match(r.receive.stderr + r.shell.stderr, /nonexistent\/receiver/);
  });

  it('reports progress while the sender runs', async () => {
    const seen: number[] = [];
    const o = await runShellPipe(['/usr/bin/perl', '-e', '$| = 1; print "\\0" x 1000000; select(undef, undef, undef, 0.8); print "\\0" x 1000000'], ['/bin/sh', '-c', 'cat >/dev/null'], {
      onProgress: (b) => seen.push(b),
    });
    assert.equal(o.bytes, 2000000);
    assert.ok(seen.includes(1000000), `progress saw the first half: ${seen.join(',')}`);
    assert.equal(seen.at(-1), 2000000);
  });

  it('an abort ends the shell and both stages', async () => {
    const ac = new AbortController();
    let pid = 0;
    const running = runShellPipe(['/bin/sh', '-c', 'echo $$ >&2; exec sleep 30'], ['/bin/sh', '-c', 'cat >/dev/null'], { signal: ac.signal });
    const started = Date.now();
    // the sender's pid is printed on its stderr, which the outcome carries: wait for the sleep to run
    setTimeout(() => ac.abort(new Error('stop')), 300);
    const o = await running;
    pid = Number(o.send.stderr.trim());
    assert.ok(Date.now() - started < 10_000, 'ended at once, not after the sleep');
    assert.notEqual(o.first, null);
    assert.ok(pid > 0);
    const gone = Date.now() + 5000;
    while (alive(pid) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(pid), 'the sender is gone');
  });

  it('a look before: its output and status go to proceed, and the pipe runs only when it says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-shellpipe-'));
    try {
      const mark = join(dir, 'sent');
      const send = ['/bin/sh', '-c', `: > ${mark}; exec head -c 100 /dev/zero`];
      const seen: Array<{ code: number | null; stdout: string; stderr: string }> = [];
      // a look whose output has no final newline, and a line on stderr
      const look = ['/bin/sh', '-c', 'printf "one\\ntwo"; echo warn >&2; exit 3'];
      const no = await runShellPipe(send, ['/bin/sh', '-c', 'cat >/dev/null'], {
        before: { argv: look, proceed: async (l) => (seen.push(l), false) },
      });
      assert.deepEqual(seen, [{ code: 3, signal: null, stdout: 'one\ntwo', stderr: 'warn\n' }]);
      assert.equal(no.ran, false);
      assert.equal(no.first, null);
      assert.equal(existsSync(mark), false, 'nothing was sent');

      const yes = await runShellPipe(send, ['/bin/sh', '-c', 'wc -c >&2'], {
        before: { argv: ['/bin/echo', 'listed'], proceed: async (l) => l.code === 0 && l.stdout === 'listed\n' },
        after: ['/bin/sh', '-c', 'echo after; echo after-err >&2'],
      });
      assert.equal(yes.ran, true);
      assert.equal(yes.first, null);
      assert.equal(yes.bytes, 100);
      assert.equal(yes.receive.stderr.trim(), '100');
      assert.deepEqual(yes.after, { code: 0, signal: null, stdout: 'after\n', stderr: 'after-err\n' });
      assert.equal(existsSync(mark), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads no startup file: neither ~/.bashrc (a socket on stdin and no SHLVL look like ssh to bash) nor BASH_ENV', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-shellpipe-'));
    try {
      const rc = join(dir, 'bashrc-ran');
      const benv = join(dir, 'bash-env-ran');
      writeFileSync(join(dir, '.bashrc'), `touch ${rc}\n`);
      writeFileSync(join(dir, 'env.sh'), `touch ${benv}\n`);
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, BASH_ENV: join(dir, 'env.sh') };
      delete env.SHLVL;
      // a look before: the shell then reads its stdin, a socket from Node
      const out = await runShellPipe(['/bin/echo', 'x'], ['/bin/sh', '-c', 'cat >/dev/null'], {
        env,
        before: { argv: ['/bin/true'], proceed: async () => true },
      });
      assert.equal(out.first, null);
      assert.equal(out.ran, true);
      assert.equal(existsSync(rc), false, '~/.bashrc was read');
      assert.equal(existsSync(benv), false, 'BASH_ENV was read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a look after runs only when both stages succeeded; a proceed that throws ends the shell and is rethrown', async () => {
    const failed = await runShellPipe(['/bin/sh', '-c', 'head -c 10 /dev/zero; exit 2'], ['/bin/sh', '-c', 'cat >/dev/null'], { after: ['/bin/echo', 'never'] });
    assert.equal(failed.first, 'send');
    assert.equal(failed.after, null);
    const big = 'x'.repeat(300_000); // more than a shell's kept tail of 64 KiB: a look's output is kept whole
    const whole = await runShellPipe(['/usr/bin/head', '-c', '1', '/dev/zero'], ['/bin/sh', '-c', 'cat >/dev/null'], {
      before: { argv: ['/bin/sh', '-c', `head -c ${big.length} /dev/zero | tr '\\0' x`], proceed: async (l) => l.stdout === big },
    });
    assert.equal(whole.ran, true, 'the whole look reached proceed');
    const started = Date.now();
    await assert.rejects(
      runShellPipe(['/usr/bin/yes'], ['/bin/sh', '-c', 'cat >/dev/null'], {
        before: { argv: ['/bin/true'], proceed: async () => { throw new Error('conflict'); } },
      }),
      /conflict/,
    );
    assert.ok(Date.now() - started < 5000);
  });

  for (const variant of ['exec\'d', 'with a look after'] as const) {
    it(`a process that dies (SIGKILL) mid-pipe takes the receiver along (${variant}); the sender then dies of the broken pipe`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ferry-shellpipe-'));
      try {
        const pids = { send: join(dir, 'send.pid'), receive: join(dir, 'receive.pid') };
        const code = `import { runShellPipe } from ${JSON.stringify(new URL('../src/storage/shell-pipe.ts', import.meta.url).href)};
          await runShellPipe(['/bin/sh', '-c', 'echo $$ > ${pids.send}; exec yes'], ['/bin/sh', '-c', 'echo $$ > ${pids.receive}; exec cat > /dev/null']${variant === 'exec\'d' ? '' : ", { after: ['/bin/true'] }"});`;
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: 'ignore' });
        const deadline = Date.now() + 20_000;
        while (!(existsSync(pids.send) && existsSync(pids.receive) && readFileSync(pids.receive, 'utf8').trim())) {
          assert.ok(Date.now() < deadline, 'the pipe started');
          await new Promise((r) => setTimeout(r, 50));
        }
        const send = Number(readFileSync(pids.send, 'utf8'));
        const receive = Number(readFileSync(pids.receive, 'utf8'));
        assert.ok(alive(send) && alive(receive));
        child.kill('SIGKILL');
        await new Promise((r) => child.once('close', r));
        const gone = Date.now() + 5000;
        while ((alive(send) || alive(receive)) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
        assert.ok(!alive(receive), 'the receiver died with the process that ran the pipe');
        assert.ok(!alive(send), 'the sender died of the broken pipe');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
