// The live view in a real headless browser (Debian's chromium, driven by playwright-core; no
// browser download) against a real `ferry serve --ui` running real replications on dir endpoints.
// Screenshots of each page go to test-artifacts/ui/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { allPartitionStatus } from '../src/archiver/coordinator.js';
import { entryKey } from '../src/archiver/contracts.js';
import { appendEntry, commit } from '../src/archiver/log-source/index.js';
import { openSink } from '../src/archiver/sinks/index.js';
import { freePort, type EmbeddedRedis } from '../src/cli/embedded-redis.js';
import { FerryMetrics } from '../src/observability/metrics.js';
import { replicationRegistry } from '../src/replication/registry.js';
import { startReplication } from '../src/replication/runs.js';
import { createDirDriver } from '../src/storage/dir/index.js';
import { makeLayout } from '../src/storage/dir/layout.js';
import { lockFilesystem } from '../src/storage/dir/lock.js';
import { createLogger } from '../src/util/logger.js';
import { archiveOnce, archiverEngine } from './helpers/archiver.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { runProcess } from './helpers/processes.js';
import { startTestRedis } from './helpers/redis.js';
import { tempDir } from './helpers/replication.js';
import { serve, stop, type Served } from './helpers/serve.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/ui/', import.meta.url));
// outside CI a machine without chromium skips; CI installs it (.ci/run) and must run this
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} missing (apt-get install chromium)` : false;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** the state ids highlighted in the page's diagram */
const activeStates = (page: Page) => page.$$eval('#diagram g.state.active', (els) => els.map((e) => (e as SVGGElement).dataset.state));

describe('ui in a browser: ferry serve --ui', { skip }, () => {
  let redis: EmbeddedRedis;
  let served: Served | null = null;
  let engine: TestEngine | null = null;
  let browser: Browser | null = null;
  let context: BrowserContext;
  let base = '';
  let port = 0;
  const d = tempDir('ui-browser');
  let prefix = '';
  let archiver: TestEngine | null = null;
  const token = 'browser-test-token';
  const ferry = (...args: string[]) => runProcess(process.execPath, ['bin/ferry.mjs', '--key-prefix', prefix, ...args], { env: { REDIS_URL: redis.url }, timeoutMs: 60_000 });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    redis = await startTestRedis();
    // an archiver engine without workers (it notifies; the serve process works), whose prefix all share
    const arc = archiverEngine(redis.url, { workers: false });
    archiver = arc.engine;
    prefix = arc.prefix;
    writeFileSync(join(d.path, 'token'), `${token}\n`);
    port = await freePort();
    served = await serve(['--ui', String(port), '--token-file', join(d.path, 'token'), '--no-metrics', '--key-prefix', prefix], { REDIS_URL: redis.url });
    base = `http://127.0.0.1:${port}`;
    engine = openTestEngine(redis.url, { prefix, registry: replicationRegistry({ metrics: new FerryMetrics() }), logger: createLogger({ level: 'warn', pretty: false }) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  });
  after(async () => {
    await browser?.close();
    await engine?.close();
    await archiver?.close();
    if (served) assert.equal(await stop(served), 0, served.err());
    await redis?.stop();
    d.remove();
  });

  it('refuses without the token, and signs in with the login form', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${base}/`);
    assert.equal(res?.status(), 401);
    assert.match(await page.textContent('h1') ?? '', /not signed in/);
    assert.match(await page.textContent('#why') ?? '', /No token was given/);
    await shot(page, '01-refused');
    assert.equal(await page.evaluate(async () => (await fetch('/api/overview')).status), 401);
    await page.fill('input[name=token]', 'wrong');
    await page.click('button[type=submit]');
    assert.match(await page.textContent('#why') ?? '', /not the one/);
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('#jobs');
    await page.close();
  });

  it('lists the jobs on the home page and runs one now after asking', async () => {
    mkdirSync(join(d.path, 'js', 'data'), { recursive: true });
    writeFileSync(join(d.path, 'js', 'data', 'f'), 'job data\n');
    for (const args of [['nightly', '--every', '1h', '--snapshot-prefix', 'auto'], ['manual-copy', '--snapshot-prefix', 'auto']]) {
      const r = await ferry('job', 'create', args[0], '--sender', `dir:${d.path}/js`, '--receiver', `dir:${d.path}/jr-${args[0]}`, ...args.slice(1));
      assert.equal(r.code, 0, r.stderr);
    }
    const page = await context.newPage();
    await page.goto(`${base}/#/`);
    await page.waitForSelector('#jobs tr[data-job="manual-copy"]');
    const jobs = await page.$$eval('#jobs tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.job).sort());
    assert.deepEqual(jobs, ['manual-copy', 'nightly']);
    assert.match(await page.textContent('#jobs tr[data-job="nightly"]') ?? '', /every 60 min/);
    assert.match(await page.textContent('#jobs tr[data-job="manual-copy"]') ?? '', /\(manual\)/);

    let asked = '';
    page.once('dialog', (dialog) => { asked = dialog.message(); void dialog.accept(); });
    await page.click('#jobs tr[data-job="manual-copy"] button:has-text("Run now")');
    await page.waitForSelector('.toast:has-text("started manual-copy.")');
    assert.match(asked, /Run job manual-copy now\?/);
    // the run shows up on the page by itself (the transition stream reloads the overview)
    await page.waitForSelector('#jobs tr[data-job="manual-copy"] a:has-text("Completed")', { timeout: 60_000 });
    await shot(page, '02-home');
    await page.close();
  });

  it('shows a running replication\'s statechart, moving the highlight live, and resumes a cut connection with no transition missed', async () => {
    const sender = createDirDriver(join(d.path, 's'));
    mkdirSync(join(d.path, 's', 'data'), { recursive: true });
    writeFileSync(join(d.path, 's', 'data', 'f.txt'), 'live\n'.repeat(1000));
    await sender.snapshot(['data'], 's1');
    mkdirSync(join(d.path, 'r'), { recursive: true });
    // the receiving filesystem is busy (its lock held here): the run keeps retrying until released
    const lease = await lockFilesystem(makeLayout(join(d.path, 'r')), 'data');
    const proxy = await startTcpProxy(port);
    try {
      const runId = await startReplication(engine!, { sender: `dir:${d.path}/s`, receiver: `dir:${d.path}/r`, retry: { initialMs: 200, maxMs: 400, maxAttempts: 100_000 } });
      await engine!.waitFor(runId, (r) => r.value === 'WorkingWait', { timeoutMs: 30_000 });

      // through the proxy, so the test can cut the page's connection (the cookie is per host, not port)
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${proxy.port}/#/machine/${encodeURIComponent(runId)}`);
      await page.waitForSelector('#live[data-open="true"]');
      await page.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true; });
      const first = await activeStates(page);
      assert.equal(first.length, 1);
      assert.match(first[0]!, /^replication\.(Working|WorkingWait)$/);
      // the filesystem retries, so the run goes Working <-> WorkingWait: the highlight follows
      await page.waitForFunction((was) => {
        const now = [...document.querySelectorAll('#diagram g.state.active')].map((e) => (e as SVGGElement).dataset.state);
        return now.length === 1 && now[0] !== was;
      }, first[0], { timeout: 30_000 });
      await shot(page, '03-machine-running');
      // the home page shows it in flight, with its filesystem waiting to retry
      const home = await context.newPage();
      await home.goto(`${base}/#/`);
      await home.waitForSelector(`#runs .run a[href="#/machine/${runId}"]`);
      assert.match(await home.textContent('#runs') ?? '', /data\s*(Working|WorkingWait)\s*0\/1/);
      await shot(home, '03-home-run-in-flight');
      await home.close();

      // the connection is cut; meanwhile the run goes on to the end
      proxy.cut();
      await page.waitForSelector('#live[data-open="false"]');
      await lease.release();
      await engine!.waitFor(runId, (r) => r.status === 'done', { timeoutMs: 60_000 });
      proxy.heal();

      // the browser reconnects with the last id it saw, and gets every transition it missed
      await page.waitForFunction(() => document.getElementById('current-state')?.textContent === 'Completed', undefined, { timeout: 30_000 });
      assert.deepEqual(await activeStates(page), ['replication.Completed']);
      assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'no reload');
      const shown = await page.$$eval('#history tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.id));
      const logged = (await engine!.transitions.read('0', 100_000)).filter((e) => e.machineId === runId).map((e) => e.id);
      assert.deepEqual(shown, logged);
      assert.ok(logged.length >= 5, `${logged.length} transitions`);
      // the page's context is the committed one, children link to the filesystem machine
      await page.waitForFunction(() => /"sender"/.test(document.getElementById('context')?.textContent ?? ''));
      assert.equal(await page.getAttribute('#children a', 'href'), `#/machine/${encodeURIComponent(`${runId}.fs-0`)}`);
      await shot(page, '04-machine-completed');

      // time travel: back to the first transition's state
      await page.$eval('#time-travel', (el) => { (el as HTMLInputElement).value = '1'; el.dispatchEvent(new Event('input')); });
      assert.deepEqual(await activeStates(page), ['replication.Planning']);
      assert.match(await page.textContent('#time-travel-note') ?? '', /after 1 of \d+: Planning/);
      await shot(page, '05-time-travel');
      await page.close();
    } finally {
      await lease.release().catch(() => undefined);
      await proxy.close();
    }
  });

  it('shows a Failed archiver partition with its reason, and resets it after asking', async () => {
    const log = join(d.path, 'wal');
    const sinkDir = join(d.path, 'sink');
    const sink = `file://${sinkDir}`;
    for (let lsn = 1; lsn <= 3; lsn++) await appendEntry(log, 's', 'diff', lsn, Buffer.from(`entry ${lsn}\n`));
    await commit(log, 's', 'diff', 3);
    // another object where entry 2 goes: the archiver stops there (CHECKSUM_MISMATCH), Failed
    const other = Buffer.from('not the entry');
    const key = entryKey({ storage: 's', partition: 'diff' }, 2);
    await openSink(sink).put(key, other, { sha256: createHash('sha256').update(other).digest('hex'), size: other.length });
    const [failed] = await archiveOnce(archiver!, log, sink);
    assert.equal(failed.state, 'Failed');

    const page = await context.newPage();
    await page.goto(`${base}/#/`);
    const row = `#partitions tr:has(a[href="#/machine/${encodeURIComponent(failed.id)}"])`;
    await page.waitForSelector(`${row} button:has-text("Reset")`);
    assert.match(await page.textContent(row) ?? '', /Failed[\s\S]*CHECKSUM_MISMATCH/);
    await shot(page, '08-partition-failed');

    // the person removes the wrong object, then resets from the page
    rmSync(join(sinkDir, key));
    let asked = '';
    page.once('dialog', (dialog) => { asked = dialog.message(); void dialog.accept(); });
    await page.click(`${row} button:has-text("Reset")`);
    await page.waitForSelector('.toast:has-text("partition reset")');
    assert.match(asked, /Reset the Failed partition s\/diff\?/);
    await page.waitForFunction((sel) => /Idle/.test(document.querySelector(sel)?.textContent ?? ''), row, { timeout: 60_000 });
    assert.equal((await allPartitionStatus(archiver!)).find((p) => p.id === failed.id)?.nextLsn, 4);
    await shot(page, '09-partition-reset');
    await page.close();
  });

  it('lists and filters the machines, and mounts bull-board behind the same sign-in', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/#/machines`);
    await page.waitForSelector('#machine-list .vrow');
    const all = await page.$$eval('#machine-list .vrow', (rows) => rows.length);
    assert.ok(all >= 3, `${all} rows`);
    await page.selectOption('select[name=kind]', 'replication');
    await page.waitForFunction(() => [...document.querySelectorAll('#machine-list .c-kind')].every((e) => e.textContent === 'replication'));
    assert.match(page.url(), /#\/machines\?kind=replication$/);
    await shot(page, '06-machines');
    await page.goto(`${base}/queues/`);
    await page.waitForSelector('text=drain');
    await page.click('text=effects');
    await page.waitForFunction(() => !/Loading/.test(document.body.innerText));
    await shot(page, '07-queues');
    await page.close();
    const anonymous = await browser!.newContext();
    const res = await (await anonymous.newPage()).goto(`${base}/queues/`);
    assert.equal(res?.status(), 401);
    await anonymous.close();
  });
});
