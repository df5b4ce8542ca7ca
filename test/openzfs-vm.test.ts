import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileForVm, GUEST_BUILD, openZfsVmUnavailable, runInOpenZfsVm, testSummary } from './helpers/openzfs-vm.js';

/**
 * The zfs tests again, on kernel OpenZFS instead of zfs-fuse: test/zfs.test.ts (the driver suite),
 * the zfs step killed halfway, and test/openzfs/ (resumable receive, dry-run sizes), inside the
 * OpenZFS VM (scripts/openzfs-vm/build.sh) with CI=true, so nothing in there may skip. Two VMs
 * boot at once, one per half: each emulates one CPU, so together they use both of a 2-CPU host
 * once the host's own files are done.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const HALVES = {
  'the zfs driver suite': ['test/zfs.test.ts'],
  'a killed step, resumable receive': ['test/step-kill-zfs.test.ts', ...readdirSync(`${ROOT}test/openzfs`).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/openzfs/${f}`)],
};
/** what only OpenZFS runs, in each half's output: its OpenZFS paths ran, not their zfs-fuse variants */
const OPENZFS_ONLY: Record<keyof typeof HALVES, RegExp[]> = {
  'the zfs driver suite': [/^\s*ok \d+ - a step holds its versions while it runs and releases them; a cursor bookmark/m],
  'a killed step, resumable receive': [/^\s*ok \d+ - OpenZFS: interrupted steps resume/m, /^\s*ok \d+ - zfs \(OpenZFS\): the killed full receive is kept resumable/m],
};

function gate(): { skip: string | false; failure: string | null } {
  try {
    const reason = openZfsVmUnavailable(ROOT);
    return reason === null ? { skip: false, failure: null } : { skip: `OpenZFS VM unavailable: ${reason}`, failure: null };
  } catch (err) {
    return { skip: false, failure: (err as Error).message };
  }
}
const vm = gate();

/** Each `not ok` of the guest's test output with the 60 lines after it (its error and stack). */
function failures(log: string): string {
  const lines = log.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (/^\s*not ok /.test(line)) out.push(...lines.slice(i, i + 60), '...');
  });
  return out.join('\n') || '(none)';
}

/** The guest's tests with their seconds, slowest first: how near a busy host brings each to its timeouts. */
function durations(log: string): string {
  const lines = log.split('\n');
  const found: Array<[string, number]> = [];
  lines.forEach((line, i) => {
    const m = /^\s*(?:not )?ok \d+ - (.+?)(?: # SKIP.*)?$/.exec(line);
    const d = m && lines.slice(i + 1, i + 4).map((l) => /duration_ms: ([\d.]+)/.exec(l)?.[1]).find(Boolean);
    if (m && d) found.push([m[1].slice(0, 90), Number(d) / 1000]);
  });
  return found.sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, s]) => `${s.toFixed(1)} s ${name}`).join('; ');
}

describe('kernel OpenZFS (in a VM): the zfs driver suite, a killed step, resumable receive', { skip: vm.skip, concurrency: true }, () => {
  let build: string;
  before(async () => {
    if (vm.failure) return;
    build = mkdtempSync(join(tmpdir(), 'ferry-openzfs-build-'));
    // compiled once, shared read-only with both VMs: under emulation node starts in about half the time tsx takes
    await compileForVm(ROOT, build);
  });
  after(() => {
    if (build) rmSync(build, { recursive: true, force: true });
  });

  for (const [half, files] of Object.entries(HALVES) as [keyof typeof HALVES, string[]][]) {
    it(`${half} passes on OpenZFS, none skipped`, { timeout: 26 * 60_000 }, async (t) => {
      if (vm.failure) assert.fail(vm.failure);
      const script = [
        'set -e',
        // a job lock of 2 s is too short for a worker under software emulation (test/helpers/step-kill.ts);
        // V8 without its compilers: under emulation the machine code V8 writes is translated again by
        // qemu in every process: on V8's interpreter alone the driver suite's half ran in 130 s instead
        // of 148 here, and the killed-step half was no slower (196 s)
        'export CI=true FERRY_LOG_LEVEL=warn FERRY_TEST_LOCK_MS=8000 NODE_OPTIONS=--jitless',
        'zfs version',
        `cd ${GUEST_BUILD}`,
        // TAP, whose summary testSummary reads (Node 24's default is the spec reporter)
        `exec node --test --test-reporter=tap --test-timeout=900000 ${files.map((f) => f.replace(/\.ts$/, '.js')).join(' ')}`,
      ].join('\n');
      const started = Date.now();
      const r = await runInOpenZfsVm(ROOT, script, { timeoutMs: 24 * 60_000, memoryMiB: 3072, build });
      t.diagnostic(`VM (${r.kvm ? 'KVM' : 'software emulation'}) ran ${files.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
      const summary = testSummary(r.log);
      const tail = (text: string, n: number) => text.split('\n').slice(-n).join('\n');
      const context = `\n--- slowest tests in the guest ---\n${durations(r.log)}\n--- failed tests in the guest ---\n${failures(r.log)}\n--- guest output (end) ---\n${tail(r.log, 30)}\n--- guest console (end) ---\n${tail(r.console, 30)}`;
      assert.match(r.log, /zfs-2\.\d+\.\d+/, `the guest runs kernel OpenZFS${context}`);
      assert.equal(r.exit, 0, `the tests in the VM failed (${JSON.stringify(summary)})${context}`);
      assert.equal(summary.fail, 0, context);
      assert.equal(summary.skipped, 0, `nothing may skip on OpenZFS${context}`);
      assert.equal(summary.cancelled, 0, context);
      assert.ok(summary.tests >= 4 && summary.pass === summary.tests, `tests ran and passed: ${JSON.stringify(summary)}${context}`);
      for (const re of OPENZFS_ONLY[half]) assert.match(r.log, re, context);
      t.diagnostic(`in the VM: ${JSON.stringify(summary)}; slowest: ${durations(r.log)}`);
    });
  }
});
