// A dir receive killed with SIGKILL at every syscall that changes the receiver (strace fault
// injection), then received again: the version is listed exactly when <root>/<fs> shows it, and
// the retried receive ends with the sender's tree visible and nothing left in .ferry/tmp.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { buildSync } from 'esbuild';
import { TemporaryError, type FerryError } from '../src/errors/index.js';
import type { StorageDriver, Version } from '../src/storage/driver.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { tempBase, treeOf } from './helpers/files.js';

const STRACE = '/usr/bin/strace';
/** The syscalls by which a receive changes the receiver's directories. */
const MUTATING = ['mkdir', 'rename', 'symlink', 'rmdir', 'unlink', 'link', 'utimensat'];
const CHILD = 'test/helpers/dir-receive-child.ts';
/** The child never renews its lock (a long lease); the receiver after it judges it dead quickly. */
const CHILD_LEASE_MS = 600_000;
const RETRY_LEASE_MS = 100;

const noStrace = !existsSync(STRACE);
if (noStrace && process.env.CI === 'true') throw new Error(`${STRACE} is missing: install strace (scripts/setup.sh --test)`);

interface Scenario {
  sender: StorageDriver;
  senderRoot: string;
  from: Version | null;
  to: Version;
  /** a receiver as it is before the receive, copied for every run */
  template: string;
  stream: string;
}

/**
 * The child bundled once into plain JavaScript (esbuild, as scripts/bundle-cli.mjs bundles the CLI):
 * started through tsx with its cache off (whose writes strace would count), each of the hundred-odd
 * children compiled the driver again, and the file took 134-338 s of a busy suite.
 */
let childBundle: string | undefined;
function bundleChild(dir: string): string {
  const outfile = join(dir, 'child.mjs');
  buildSync({
    entryPoints: [CHILD], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'warning',
    // the CommonJS dependencies' require() inside an ES module
    banner: { js: "import { createRequire as ferryRequire } from 'node:module'; const require = ferryRequire(import.meta.url);" },
  });
  return outfile;
}

/** The receive in a child process under strace; `inject` kills it at one syscall. */
function runChild(root: string, stream: string, strace: string[]): ReturnType<typeof spawnSync> {
  return spawnSync(STRACE, [...strace, process.execPath, childBundle!, root, 'data', stream, String(CHILD_LEASE_MS)], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/** How often each mutating syscall happens in one thread of an uninterrupted receive (strace counts per thread). */
async function countSyscalls(scenario: Scenario, base: string): Promise<Map<string, number>> {
  const root = join(base, 'traced');
  spawnSync('cp', ['-a', scenario.template, root]);
  const trace = join(base, 'trace');
  const r = runChild(root, scenario.stream, ['-f', '-qq', '-o', trace, '-e', `trace=${MUTATING.join(',')}`, '-e', 'signal=none']);
  assert.equal(r.status, 0, `traced receive failed: ${r.stderr}`);
  const perThread = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const line of (await readFile(trace, 'utf8')).split('\n')) {
    const m = /^(\d+) +(\w+)\(/.exec(line);
    if (!m) continue;
    const key = `${m[1]} ${m[2]}`;
    perThread.set(key, (perThread.get(key) ?? 0) + 1);
    counts.set(m[2], Math.max(counts.get(m[2]) ?? 0, perThread.get(key)!));
  }
  return counts;
}

async function receiveRetryingBusy(driver: StorageDriver, stream: string): Promise<Version> {
  for (;;) {
    try {
      return await driver.receive('data', createReadStream(stream));
    } catch (err) {
      if (!(err instanceof TemporaryError && err.code === 'BUSY')) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function killAtEveryPoint(scenario: Scenario, base: string): Promise<number> {
  const counts = await countSyscalls(scenario, base);
  assert.ok((counts.get('rename') ?? 0) > 0 && (counts.get('symlink') ?? 0) > 0, `no commit syscalls traced: ${JSON.stringify([...counts])}`);
  const sent = await treeOf(join(scenario.senderRoot, '.ferry', 'snapshots', 'data', scenario.to.name, 'data'));
  const before = existsSync(join(scenario.template, 'data')) ? await treeOf(join(scenario.template, 'data')) : null;
  const target = `.ferry/snapshots/data/${scenario.to.name}/data`;
  let kills = 0;
  for (const [syscall, count] of counts) {
    for (let n = 1; n <= count; n++) {
      const label = `SIGKILL at ${syscall} #${n}`;
      const root = join(base, `run-${syscall}-${n}`);
      spawnSync('cp', ['-a', scenario.template, root]);
      const r = runChild(root, scenario.stream, ['-f', '-qq', '-o', '/dev/null', '-e', `inject=${syscall}:signal=KILL:when=${n}`]);
      assert.ok(r.signal === 'SIGKILL' || r.status === 137, `${label}: the receive was not killed (status ${r.status}, ${r.stdout}${r.stderr})`);
      kills++;

      // What the killed receive left: listed exactly when visible, and what is visible is complete.
      const receiver = createDirDriver(root, { lockLeaseMs: RETRY_LEASE_MS });
      const link = await readlink(join(root, 'data')).catch(() => null);
      const listed = (await receiver.listVersions('data')).some((v) => v.guid === scenario.to.guid);
      assert.equal(listed, link === target, `${label}: listed ${listed}, <root>/data -> ${link}`);
      if (link !== null) assert.deepEqual(await treeOf(join(root, 'data')), link === target ? sent : before, `${label}: visible tree`);
      else assert.equal(before, null, `${label}: the old version is no longer visible`);

      // The retried step: done if listed, else received again.
      if (listed) {
        await assert.rejects(receiveRetryingBusy(receiver, scenario.stream), (err: FerryError) => err.code === 'ALREADY_EXISTS', label);
      } else {
        assert.equal((await receiveRetryingBusy(receiver, scenario.stream)).guid, scenario.to.guid, label);
      }
      assert.equal(await readlink(join(root, 'data')), target, label);
      assert.deepEqual(await treeOf(join(root, 'data')), sent, `${label}: tree after the retry`);
      const versions = (await receiver.listVersions('data')).map((v) => v.guid);
      assert.deepEqual(versions, [scenario.from?.guid, scenario.to.guid].filter(Boolean), label);
      assert.deepEqual(await readdir(join(root, '.ferry', 'tmp')), [], `${label}: left in .ferry/tmp`);
      assert.deepEqual(await readdir(join(root, '.ferry', 'snapshots', 'data')), versions.length === 2 ? [scenario.from!.name, scenario.to.name] : [scenario.to.name], label);
    }
  }
  return kills;
}

async function sender(base: string): Promise<{ A: StorageDriver; a: string; s1: Version; s2: Version }> {
  const a = join(base, 'a');
  await mkdir(join(a, 'data', 'sub'), { recursive: true });
  await writeFile(join(a, 'data', 'kept'), 'the same in both versions');
  await writeFile(join(a, 'data', 'sub', 'changed'), 'one');
  await symlink('kept', join(a, 'data', 'link'));
  const A = createDirDriver(a);
  const [s1] = await A.snapshot(['data'], 's1');
  await writeFile(join(a, 'data', 'sub', 'changed'), 'two');
  await writeFile(join(a, 'data', 'added'), 'new in s2');
  const [s2] = await A.snapshot(['data'], 's2');
  return { A, a, s1, s2 };
}

async function saveStream(A: StorageDriver, from: Version | null, to: Version, path: string): Promise<string> {
  await pipeline((await A.send('data', from, to)).stream, createWriteStream(path));
  return path;
}

describe('dir receive killed at every commit point', { skip: noStrace ? `${STRACE} is missing` : false }, () => {
  let bundleDir: string | undefined;
  before(() => {
    bundleDir = mkdtempSync(join(tmpdir(), 'ferry-dir-crash-'));
    childBundle = bundleChild(bundleDir);
  });
  after(() => {
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it('a full receive into a new root is visible exactly when it is listed, on every crash point', async (t) => {
    const base = await tempBase(t);
    const { A, a, s1 } = await sender(base);
    const template = join(base, 'empty-receiver');
    await mkdir(template);
    const stream = await saveStream(A, null, s1, join(base, 'full.tar'));
    const kills = await killAtEveryPoint({ sender: A, senderRoot: a, from: null, to: s1, template, stream }, base);
    t.diagnostic(`${kills} crash points`);
  });

  it('an incremental receive replaces the visible tree exactly when it is listed, on every crash point', async (t) => {
    const base = await tempBase(t);
    const { A, a, s1, s2 } = await sender(base);
    const template = join(base, 'receiver-at-s1');
    await createDirDriver(template).receive('data', createReadStream(await saveStream(A, null, s1, join(base, 'full.tar'))));
    const stream = await saveStream(A, s1, s2, join(base, 'incremental.tar'));
    const kills = await killAtEveryPoint({ sender: A, senderRoot: a, from: s1, to: s2, template, stream }, base);
    t.diagnostic(`${kills} crash points`);
  });
});
