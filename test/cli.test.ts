import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { runProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';

interface Result { code: number | null; stdout: string; stderr: string }

function ferry(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return runProcess(process.execPath, ['bin/ferry.mjs', ...args], { cwd: process.cwd(), env: { FERRY_LOG_LEVEL: 'warn', ...env } });
}

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

describe('the ferry command', () => {
  let redis: EmbeddedRedis;
  let env: Record<string, string>;
  before(async () => { redis = await startTestRedis(); env = { REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state' }; });
  after(async () => { await redis.stop(); });

  it('ferry demo --json: both runs Completed, the last stdout line is one JSON object', async () => {
    const r = await ferry(['demo', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson(r.stdout);
    assert.equal(out.full.state, 'Completed');
    assert.equal(out.incremental.state, 'Completed');
    assert.equal(out.full.filesystems.length, 3);
    for (const f of out.incremental.filesystems) {
      assert.deepEqual(Object.keys(f).sort(), ['bytes', 'name', 'problem', 'sleepUntil', 'state', 'stepsDone', 'stepsTotal']);
      assert.equal(f.stepsDone, 1);
      assert.ok(f.bytes > 0 && f.bytes < out.full.filesystems.find((x: { name: string }) => x.name === f.name).bytes, 'incremental sends less than full');
    }
  });

  it('snapshot, list, replicate, status: exit 0 on Completed, 1 on a conflict, 2 on bad input', async () => {
    const d = tempDir('cli');
    try {
      mkdirSync(join(d.path, 's', 'data'), { recursive: true });
      writeFileSync(join(d.path, 's', 'data', 'f.txt'), 'hello\n');
      const snap = await ferry(['snapshot', `dir:${d.path}/s`, '--prefix', 'nightly', '--json'], env);
      assert.equal(snap.code, 0, snap.stderr);
      assert.match(lastJson(snap.stdout)[0].name, /^nightly_\d{8}T\d{6}Z$/);
      const listed = lastJson((await ferry(['list', `dir:${d.path}/s`, '--json'], env)).stdout);
      assert.equal(listed[0].filesystem, 'data');
      assert.equal(listed[0].versions.length, 1);

      const rep = await ferry(['replicate', `dir:${d.path}/s`, `dir:${d.path}/r`, '--json'], env);
      assert.equal(rep.code, 0, rep.stderr);
      const report = lastJson(rep.stdout);
      assert.equal(report.state, 'Completed');
      assert.equal(existsSync(join(d.path, 'r', 'data', 'f.txt')), true);

      const status = await ferry(['status', report.id, '--json'], env);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(lastJson(status.stdout).state, 'Completed');
      const runs = lastJson((await ferry(['status', '--json'], env)).stdout);
      assert.ok(runs.runs.some((x: { id: string }) => x.id === report.id));

      // a receiver that cannot take the sender's snapshots: the run does not complete, exit 1
      const fail = await ferry(['replicate', `dir:${d.path}/s`, `dir:${d.path}/r2`, '--initial', 'fail', '--json'], env);
      assert.equal(fail.code, 1);
      assert.equal(lastJson(fail.stdout).state, 'PermanentError');

      const bad = await ferry(['replicate', 'dir:relative/path', `dir:${d.path}/r`], env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /invalid endpoint "dir:relative\/path": the path must be absolute/);
      const mixed = await ferry(['replicate', `dir:${d.path}/s`, 'zfs:pool/x'], env);
      assert.equal(mixed.code, 2);
      assert.match(mixed.stderr, /same driver/);
      // --snapshot: one command takes the snapshot, then replicates it
      writeFileSync(join(d.path, 's', 'data', 'g.txt'), 'more\n');
      const both = await ferry(['replicate', `dir:${d.path}/s`, `dir:${d.path}/r`, '--snapshot-name', 'cycle2'], env);
      assert.equal(both.code, 0, both.stderr);
      assert.match(both.stdout, /^snapshot cycle2 of 1 filesystem of dir:/m);
      assert.equal(readFileSync(join(d.path, 'r', 'data', 'g.txt'), 'utf8'), 'more\n');
      assert.deepEqual(lastJson((await ferry(['list', `dir:${d.path}/r`, '--json'], env)).stdout)[0].versions.map((v: { name: string }) => v.name).at(-1), 'cycle2');
      const planOnly = await ferry(['replicate', `dir:${d.path}/s`, `dir:${d.path}/r`, '--snapshot', '--dry-run'], env);
      assert.equal(planOnly.code, 2);
      assert.match(planOnly.stderr, /--dry-run changes nothing and --snapshot takes snapshots/);
      const badSnap = await ferry(['replicate', `dir:${d.path}/s`, `dir:${d.path}/r`, '--snapshot-name', 'a;b'], env);
      assert.equal(badSnap.code, 2);
      assert.match(badSnap.stderr, /a;b/);

      const badName = await ferry(['snapshot', `dir:${d.path}/s`, '--name', 'a;b'], env);
      assert.equal(badName.code, 2);
      assert.match(badName.stderr, /a;b/);
      assert.equal(lastJson((await ferry(['list', `dir:${d.path}/s`, '--json'], env)).stdout)[0].versions.length, 2, 'nothing was created by the bad names');
    } finally {
      d.remove();
    }
  });

  it('ferry destroy ENDPOINT FS@SNAP: destroys that snapshot only and says which; bad input exit 2, an unknown snapshot exit 3', async () => {
    const d = tempDir('clidestroy');
    try {
      const ep = `dir:${d.path}/s`;
      for (const fs of ['data', 'other']) {
        mkdirSync(join(d.path, 's', fs), { recursive: true });
        writeFileSync(join(d.path, 's', fs, 'f.txt'), `${fs}\n`);
      }
      for (const name of ['s1', 's2']) assert.equal((await ferry(['snapshot', ep, '--name', name], env)).code, 0);
      const versions = () => ferry(['list', ep, '--json'], env).then((r) => Object.fromEntries(lastJson(r.stdout).map((f: { filesystem: string; versions: { name: string; guid: string; createtxg: number }[] }) => [f.filesystem, f.versions])));
      const before = await versions();
      const s1 = before.data[0];

      const r = await ferry(['destroy', ep, 'data@s1'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `destroyed data@s1 guid ${s1.guid} createtxg ${s1.createtxg} on ${ep}\n`);
      const after = await versions();
      assert.deepEqual(after, { data: before.data.slice(1), other: before.other });
      assert.equal(readFileSync(join(d.path, 's', 'data', 'f.txt'), 'utf8'), 'data\n', 'the filesystem stays');

      const json = await ferry(['destroy', ep, 'other@s2', '--json'], env);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(lastJson(json.stdout), { endpoint: ep, filesystem: 'other', name: 's2', guid: before.other[1].guid, createtxg: before.other[1].createtxg });

      const unknown = await ferry(['destroy', ep, 'data@s1'], env);
      assert.equal(unknown.code, 3);
      assert.match(unknown.stderr, /snapshot data@s1 does not exist/);
      for (const [spec, message] of [['data', /expected <filesystem>@<snapshot>, got "data"/], ['data@', /expected <filesystem>@<snapshot>/], ['@s2', /expected <filesystem>@<snapshot>/], ['data@s2@x', /expected <filesystem>@<snapshot>/], ['data@a;b', /invalid snapshot name "a;b"/], ['../x@s2', /invalid filesystem name "\.\.\/x"/]] as const) {
        const bad = await ferry(['destroy', ep, spec], env);
        assert.equal(bad.code, 2, `${spec}: ${bad.stderr}`);
        assert.match(bad.stderr, message, spec);
      }
      assert.equal((await ferry(['destroy', 'dir:relative', 'data@s2'], env)).code, 2);
      assert.deepEqual(await versions(), { data: before.data.slice(1), other: before.other.slice(0, 1) }, 'refused commands destroyed nothing');
    } finally {
      d.remove();
    }
  });

  it('ferry watch --json --from 0 prints every committed transition, one JSON object per line', async () => {
    const child = spawn(process.execPath, ['bin/ferry.mjs', 'watch', '--json', '--from', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const deadline = Date.now() + 20_000;
    // earlier tests in this file committed runs: wait for their final transitions to show
    while (!out.includes('"to":"Completed"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    const events = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(events.length > 5);
    assert.ok(events.every((e) => e.id && e.machineId && e.kind && e.to && typeof e.version === 'number'));
    assert.ok(events.some((e) => e.kind === 'replication' && e.to === 'Completed'));
    const ids = events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate');
  });

  it('ferry archive --once, archive status and restore', async () => {
    const d = tempDir('cliarc');
    try {
      const { appendEntry, commit } = await import('../src/archiver/log-source/index.js');
      for (let lsn = 1; lsn <= 5; lsn++) await appendEntry(join(d.path, 'log'), 'main', 'p1', lsn, Buffer.from(`entry ${lsn}\n`));
      await commit(join(d.path, 'log'), 'main', 'p1', 4);
      const sink = `file://${d.path}/sink`;
      const r = await ferry(['archive', '--log', join(d.path, 'log'), '--sink', sink, '--once', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lastJson(r.stdout).archived, 4, 'the uncommitted entry 5 is not archived');
      const status = lastJson((await ferry(['archive', 'status', '--json'], env)).stdout);
      const p1 = status.partitions.find((p: { partition: string }) => p.partition === 'p1');
      assert.deepEqual([p1.state, p1.nextLsn, p1.highWaterMark], ['Idle', 5, 4]);
      const restored = await ferry(['restore', '--sink', sink, '--storage', 'main', '--partition', 'p1', '--into', join(d.path, 'out'), '--json'], env);
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(lastJson(restored.stdout), { restored: 4, firstLsn: 1, lastLsn: 4 });
      assert.equal(readFileSync(join(d.path, 'out', '00000000000000000003'), 'utf8'), 'entry 3\n');
      const missing = await ferry(['archive', '--log', join(d.path, 'log')], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--sink <url> is required/);
    } finally {
      d.remove();
    }
  });

  it('ferry archive keeps watching: a commit is archived at once, without waiting for the rescan interval', async () => {
    const d = tempDir('cliwatch');
    const { appendEntry, commit } = await import('../src/archiver/log-source/index.js');
    const log = join(d.path, 'log');
    await appendEntry(log, 'main', 'w1', 1, Buffer.from('one'));
    await commit(log, 'main', 'w1', 1);
    const child = spawn(process.execPath, ['bin/ferry.mjs', '--key-prefix', 'watchtest', 'archive', '--log', log, '--sink', `file://${d.path}/sink`, '--interval', '3600', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const key = (lsn: number) => join(d.path, 'sink', 'main', 'w1', `${String(lsn).padStart(20, '0')}.tar`);
    try {
      const deadline = Date.now() + 20_000;
      while (!existsSync(key(1)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(key(1)), 'the first entry was archived');
      await appendEntry(log, 'main', 'w1', 2, Buffer.from('two'));
      await commit(log, 'main', 'w1', 2);
      const deadline2 = Date.now() + 10_000;
      while (!existsSync(key(2)) && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(key(2)), 'the committed entry was archived without a rescan');
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      d.remove();
    }
    assert.equal(lastJson(out).archived, 2);
  });

  it('without REDIS_URL: starts an embedded redis-server, says so, and stops it on exit', async () => {
    const d = tempDir('emb');
    try {
      const r = await ferry(['status', '--json'], { REDIS_URL: undefined, FERRY_STATE_DIR: d.path });
      assert.equal(r.code, 0, r.stderr);
      const m = /embedded redis-server on 127\.0\.0\.1:(\d+) \(pid (\d+)\)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.throws(() => process.kill(Number(m[2]), 0), 'the embedded redis-server was stopped');
      assert.equal(existsSync(join(d.path, 'redis', 'appendonlydir')), true, 'AOF is on');
    } finally {
      d.remove();
    }
  });

  it('without redis-server on PATH: one clear line saying what to do', async () => {
    const empty = tempDir('path');
    try {
      const r = await ferry(['status'], { REDIS_URL: undefined, PATH: empty.path, FERRY_STATE_DIR: '/nonexistent-ferry-state' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /redis-server was not found on PATH.*apt-get install -y redis-server.*REDIS_URL/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    } finally {
      empty.remove();
    }
  });
});

describe('the ferry command: its contract (usage errors, version, help, completion)', () => {
  const usage = async (args: string[], message: RegExp) => {
    const r = await ferry(args, { REDIS_URL: 'redis://127.0.0.1:1', FERRY_STATE_DIR: '/nonexistent-ferry-state' });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  };

  it('usage errors exit 2 with commander\'s message: unknown command or option, missing argument, bad value or choice, no subcommand', async () => {
    await usage(['bogus'], /unknown command 'bogus'/);
    await usage(['replicate', '--nope', 'dir:/a', 'dir:/b'], /unknown option '--nope'/);
    await usage(['replicate', 'dir:/a'], /missing required argument 'receiver'/);
    await usage(['replicate', '--concurrency', '0', 'dir:/a', 'dir:/b'], /'--concurrency <n>' argument '0' is invalid/);
    await usage(['replicate', '--initial', 'some', 'dir:/a', 'dir:/b'], /argument 'some' is invalid/);
    await usage(['job', 'create', 'x', '--receiver', 'dir:/b'], /required option '--sender <endpoint>' not specified/);
    await usage(['signal', 'poke', 'x'], /'poke' is invalid/);
    await usage(['watch', '--kind', 'bogus'], /'--kind <kind>' argument 'bogus' is invalid.*job, replication, filesystem, pruning, partition/);
    await usage(['completion', 'fish'], /'fish' is invalid/);
    await usage(['job'], /Usage: ferry job/);
  });

  it('--version and -V print package.json\'s version; --help exits 0', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = await ferry([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
    assert.equal((await ferry(['job', 'create', '--help'])).code, 0);
  });

  it('the help of ferry and of every command that takes an endpoint names every endpoint kind', async () => {
    for (const cmd of [[], ['replicate'], ['snapshot'], ['destroy'], ['list'], ['job', 'create'], ['agent']]) {
      const r = await ferry([...cmd, '--help']);
      assert.equal(r.code, 0, r.stderr);
      for (const form of ['dir:/abs/path', 'zfs:pool/dataset', 'btrfs:/abs/path', 'grpc://HOST:PORT/<endpoint>', 'grpcs://HOST:PORT/<endpoint>']) {
        assert.ok(r.stdout.includes(form), `ferry ${cmd.join(' ')} --help names ${form}`);
      }
    }
  });

  it('ferry completion bash: valid bash that completes commands, subcommands and choices from the command tree; zsh too', async () => {
    const script = await ferry(['completion', 'bash']);
    assert.equal(script.code, 0, script.stderr);
    const d = tempDir('completion');
    try {
      writeFileSync(join(d.path, 'ferry.bash'), script.stdout);
      assert.equal((await runProcess('bash', ['-n', join(d.path, 'ferry.bash')])).code, 0, 'bash -n');
      const complete = async (...words: string[]) => {
        const r = await runProcess('bash', ['-c', `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ferry_complete; printf '%s\\n' "\${COMPREPLY[@]}"`, 'x', join(d.path, 'ferry.bash'), ...words]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim().split('\n').filter(Boolean).sort();
      };
      assert.deepEqual(await complete('ferry', 'rep'), ['replicate']);
      assert.deepEqual(await complete('ferry', 'job', 'cr'), ['create']);
      assert.deepEqual(await complete('ferry', 'job', 'create', 'x', '--ini'), ['--initial']);
      assert.deepEqual(await complete('ferry', 'replicate', '--initial', ''), ['all', 'fail', 'most_recent']);
      assert.deepEqual(await complete('ferry', 'signal', 'w'), ['wakeup']);
      assert.deepEqual(await complete('ferry', 'status', '--wa'), ['--watch']);
      assert.deepEqual(await complete('ferry', 'comp'), ['completion']);
    } finally {
      d.remove();
    }
  });

  it('ferry completion zsh: valid zsh that offers the same words (compadd and compdef stubbed: no terminal here)', async () => {
    const script = await ferry(['completion', 'zsh']);
    assert.equal(script.code, 0, script.stderr);
    assert.match(script.stdout, /^#compdef ferry\n/);
    const d = tempDir('zcompletion');
    try {
      const file = join(d.path, '_ferry');
      writeFileSync(file, script.stdout);
      assert.equal((await runProcess('zsh', ['-n', file])).code, 0, 'zsh -n');
      // compadd prints the candidates it is given (zsh filters them by prefix itself)
      const offered = async (...words: string[]) => {
        const r = await runProcess('zsh', ['-fc', `compdef() { :; }; compadd() { print -l -- \${(P)2}; }; _files() { print FILES; }; source "$1"; shift; words=("$@"); CURRENT=$#; _ferry_complete`, 'x', file, ...words]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim().split('\n');
      };
      assert.deepEqual((await offered('ferry', 'job', '')).filter((w) => !w.startsWith('-')), ['create', 'list', 'show', 'delete', 'run']);
      assert.deepEqual(await offered('ferry', 'replicate', '--initial', ''), ['most_recent', 'all', 'fail']);
      assert.deepEqual(await offered('ferry', 'restore', '--into', ''), ['FILES']);
      assert.ok((await offered('ferry', '')).includes('completion'));
    } finally {
      d.remove();
    }
  });

  it('LiveView redraws in place: each frame goes back over the last one and clears below it', async () => {
    const { LiveView } = await import('../src/cli/live-view.js');
    const writes: string[] = [];
    const view = new LiveView({ write: (s: string) => writes.push(s), columns: 10, rows: 5 });
    view.draw('one\ntwo');
    view.draw('a much longer line\nb\nc\nd\ne\nf');
    view.draw('x');
    assert.deepEqual(writes, ['\x1b[Jone\ntwo\n', '\x1b[2F\x1b[Ja much lon\nb\nc\nd\n', '\x1b[4F\x1b[Jx\n']);
  });

  it('the gRPC WatchTransitions refuses a kind no machine has (kinds: ["bogus"]), naming the field', async () => {
    const { startOrchestratorServer } = await import('../src/api/orchestrator-server.js');
    const { RemoteOrchestrator } = await import('../src/api/orchestrator-client.js');
    const { MACHINE_KINDS } = await import('../src/service/views.js');
    // nothing is called on the orchestrator: the request is refused first
    const server = await startOrchestratorServer({ orchestrator: {} as never, token: 'secret', host: '127.0.0.1', port: 0 });
    const api = new RemoteOrchestrator({ address: server.address, token: 'secret' });
    try {
      await assert.rejects(api.watchTransitions({ kinds: ['job', 'bogus'] }, () => {}, new AbortController().signal), /kinds: "bogus" is not a machine kind: use job, replication, filesystem, pruning, partition/);
    } finally {
      await api.close();
      await server.close(0);
    }
    // the kinds a watch accepts are the kinds ferry's registries run (the archiver's is `partition`)
    const { replicationRegistry } = await import('../src/replication/registry.js');
    const { jobRegistry } = await import('../src/jobs/registry.js');
    const kinds = [replicationRegistry({} as never), jobRegistry()].flatMap((r) => Object.keys(r.machines));
    assert.deepEqual([...kinds, 'partition'].sort(), [...MACHINE_KINDS].sort());
  });
});

describe('the ferry command: jobs validated before state, --wait, status', () => {
  let redis: EmbeddedRedis;
  let env: Record<string, string>;
  let d: { path: string; remove(): void };
  const jobsOf = async () => lastJson((await ferry(['job', 'list', '--json'], env)).stdout).jobs as Array<{ spec: { name: string; schedule?: unknown } ; nextRunAt: string | null }>;
  before(async () => {
    redis = await startTestRedis();
    env = { REDIS_URL: redis.url, FERRY_STATE_DIR: '/nonexistent-ferry-state' };
    d = tempDir('clijobs');
    mkdirSync(join(d.path, 's', 'data'), { recursive: true });
    writeFileSync(join(d.path, 's', 'data', 'f.txt'), 'hello\n');
  });
  after(async () => {
    await redis.stop();
    d.remove();
  });

  it('a bad cron stores nothing and schedules nothing; with --replace the old spec and schedule stay', async () => {
    const s = `dir:${d.path}/s`;
    const bad = await ferry(['job', 'create', 'cronjob', '--sender', s, '--receiver', `dir:${d.path}/r`, '--cron', '99 * * * *'], env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^ferry: schedule\.cron: "99 \* \* \* \*" is not a cron pattern/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(await jobsOf(), [], 'nothing stored');

    assert.equal((await ferry(['job', 'create', 'cronjob', '--sender', s, '--receiver', `dir:${d.path}/r`, '--cron', '0 3 * * *'], env)).code, 0);
    const before = (await jobsOf())[0];
    assert.ok(before.nextRunAt);
    for (const cron of ['99 * * * *', '0 0 31 2 *']) {
      const replace = await ferry(['job', 'create', 'cronjob', '--sender', s, '--receiver', `dir:${d.path}/other`, '--cron', cron, '--replace'], env);
      assert.equal(replace.code, 2, replace.stderr);
      assert.match(replace.stderr, /schedule\.cron/);
    }
    assert.deepEqual(await jobsOf(), [before], 'the stored spec and its schedule are as they were');
    assert.equal((await ferry(['job', 'delete', 'cronjob'], env)).code, 0);
  });

  it('errors name the field they are about, every one of them', async () => {
    const r = await ferry(['job', 'create', 'x', '--sender', 'dir:relative', '--receiver', `dir:${d.path}/q`], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ferry: sender: invalid endpoint "dir:relative"/);
    const many = await ferry(['job', 'create', 'x', '--sender', `dir:${d.path}/s`, '--receiver', 'zfs:p/x', '--receiver', 'dir:rel', '--snapshot-prefix', 'a b', '--retry-max-ms', '10'], env);
    assert.equal(many.code, 2);
    for (const field of ['receivers[0]', 'receivers[1]', 'snapshot_prefix', 'retry.max_ms']) assert.ok(many.stderr.includes(`${field}: `), `${field} in ${many.stderr}`);
    assert.deepEqual(await jobsOf(), []);
  });

  it('ferry list of an endpoint root that does not exist is bad input: exit 2 naming the path', async () => {
    const r = await ferry(['list', `dir:${d.path}/nonexistent`], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`dir root ${d.path}/nonexistent does not exist`));
  });

  it('job run --wait and signal wakeup --wait follow the invocation: exit 0 when Completed, 1 when not; status --json has createdAt', async () => {
    const s = `dir:${d.path}/s`;
    assert.equal((await ferry(['job', 'create', 'good', '--sender', s, '--receiver', `dir:${d.path}/r1`, '--receiver', `dir:${d.path}/r2`, '--snapshot-prefix', 'w'], env)).code, 0);
    const ok = await ferry(['job', 'run', 'good', '--wait', '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    const view = lastJson(ok.stdout);
    assert.equal(view.state, 'Completed');
    assert.equal(view.replications.length, 2);
    assert.ok(existsSync(join(d.path, 'r2', 'data', 'f.txt')));

    const status = lastJson((await ferry(['status', view.id, '--json'], env)).stdout);
    assert.ok(status.createdAt);
    for (const rep of status.replications) assert.ok(rep.createdAt && Date.parse(rep.createdAt) >= Date.parse(status.createdAt), `${rep.id} createdAt ${rep.createdAt}`);
    const listed = lastJson((await ferry(['status', '--json'], env)).stdout);
    assert.ok(listed.runs.every((r: { createdAt: string | null; replications: Array<{ createdAt: string | null }> }) => r.createdAt && r.replications.every((x) => x.createdAt)));

    const woken = await ferry(['signal', 'wakeup', 'good', '--wait'], env);
    assert.equal(woken.code, 0, woken.stderr);
    assert.match(woken.stdout, /^invocation good\.\d{8}T\d{9}Z of job good: Completed/);

    // an empty receiver and the initial policy "fail": the invocation ends PermanentError
    assert.equal((await ferry(['job', 'create', 'bad', '--sender', s, '--receiver', `dir:${d.path}/r3`, '--initial', 'fail'], env)).code, 0);
    const failed = await ferry(['job', 'run', 'bad', '--wait', '--json'], env);
    assert.equal(failed.code, 1, failed.stderr);
    assert.equal(lastJson(failed.stdout).state, 'PermanentError');
    const reset = await ferry(['signal', 'reset', 'bad', '--wait'], env);
    assert.equal(reset.code, 2);
    assert.match(reset.stderr, /--wait goes with wakeup/);
  });

  it('status --watch off a terminal prints a reading every --interval until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, ['bin/ferry.mjs', 'status', '--watch', '--interval', '1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const deadline = Date.now() + 30_000;
    while ((out.match(/^--- ferry status at /gm) ?? []).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
    assert.ok((out.match(/^--- ferry status at /gm) ?? []).length >= 2, out);
    assert.match(out, /good\.\d{8}T\d{9}Z\s+job\s+Completed/);
    assert.doesNotMatch(out, /\x1b\[/, 'no terminal codes in a pipe');
  });
});

describe('the ferry command on a terminal', () => {
  let redis: EmbeddedRedis;
  before(async () => { redis = await startTestRedis(); });
  after(async () => { await redis.stop(); });

  it('status --watch on a terminal (a pty from script(1)) redraws in place until Ctrl-C, then exits 0', async () => {
    // exec: script(1) runs the command with $SHELL -c, and a dash (CI has no SHELL, so /bin/sh) that stays
    // in between is itself killed by the Ctrl-C, which script then reports as 130
    const child = spawn('script', ['-qefc', `exec ${JSON.stringify(process.execPath)} bin/ferry.mjs status --watch --interval 1`, '/dev/null'], {
      env: { ...process.env, REDIS_URL: redis.url, FERRY_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const redraws = () => (out.match(/\x1b\[\d+F\x1b\[J/g) ?? []).length;
    const deadline = Date.now() + 30_000;
    while (redraws() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.stdin.write('\x03'); // Ctrl-C, through the terminal
    const code = await new Promise((r) => child.once('exit', r));
    assert.ok(redraws() >= 2, JSON.stringify(out));
    assert.match(out, /^\x1b\[Jferry status at \S+, every 1s \(Ctrl-C to stop\)\r\n\r\nno runs yet/);
    assert.equal(code, 0);
  });
});
