import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GUEST_BUILD, openZfsVmUnavailable, runInOpenZfsVm, testSummary } from './helpers/openzfs-vm.js';

/**
 * The zfs tests again, on kernel OpenZFS instead of zfs-fuse: test/zfs.test.ts, the zfs step killed
 * halfway, and test/openzfs/ (resumable receive, dry-run sizes), all inside the OpenZFS VM
 * (scripts/openzfs-vm/build.sh) with CI=true, so nothing in there may skip.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FILES = ['test/zfs.test.ts', 'test/step-kill-zfs.test.ts', ...readdirSync(`${ROOT}test/openzfs`).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/openzfs/${f}`)];

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

describe('kernel OpenZFS (in a VM): the zfs driver suite, a killed step, resumable receive', { skip: vm.skip }, () => {
  it('every zfs test passes on OpenZFS, none skipped', { timeout: 26 * 60_000 }, async (t) => {
    if (vm.failure) assert.fail(vm.failure);
    const script = [
      'set -e',
      // a job lock of 2 s is too short for a worker under software emulation (test/helpers/step-kill.ts)
      'export CI=true FERRY_LOG_LEVEL=warn FERRY_TEST_LOCK_MS=8000',
      'zfs version',
      // the compiled tree: under emulation node starts in about half the time tsx takes
      `cd ${GUEST_BUILD}`,
      `exec node --test --test-timeout=900000 ${FILES.map((f) => f.replace(/\.ts$/, '.js')).join(' ')}`,
    ].join('\n');
    const started = Date.now();
    const r = await runInOpenZfsVm(ROOT, script, { timeoutMs: 24 * 60_000, compiled: true });
    t.diagnostic(`VM (${r.kvm ? 'KVM' : 'software emulation'}) ran ${FILES.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
    const summary = testSummary(r.log);
    const tail = (text: string, n: number) => text.split('\n').slice(-n).join('\n');
    const context = `\n--- failed tests in the guest ---\n${failures(r.log)}\n--- guest output (end) ---\n${tail(r.log, 30)}\n--- guest console (end) ---\n${tail(r.console, 30)}`;
    assert.match(r.log, /zfs-2\.\d+\.\d+/, `the guest runs kernel OpenZFS${context}`);
    assert.equal(r.exit, 0, `the tests in the VM failed (${JSON.stringify(summary)})${context}`);
    assert.equal(summary.fail, 0, context);
    assert.equal(summary.skipped, 0, `nothing may skip on OpenZFS${context}`);
    assert.equal(summary.cancelled, 0, context);
    assert.ok(summary.tests >= 20 && summary.pass === summary.tests, `tests ran and passed: ${JSON.stringify(summary)}${context}`);
    // the OpenZFS-only paths ran, not their zfs-fuse variants
    assert.match(r.log, /^\s*ok \d+ - OpenZFS: interrupted steps resume/m, context);
    assert.match(r.log, /^\s*ok \d+ - zfs \(OpenZFS\): the killed full receive is kept resumable/m, context);
    t.diagnostic(`in the VM: ${JSON.stringify(summary)}`);
  });
});
