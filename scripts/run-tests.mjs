// Runs the test files with node's test runner (Node 20 has no glob for --test): the files given, or
// every test/*.test.ts. The host's files run one at a time (they share one zfs-fuse daemon, loop
// devices and the CPU); the OpenZFS VM test runs alongside them in a runner of its own, because it
// spends its minutes on one emulated CPU and touches nothing of the host's storage. Its output is
// printed when both are done, so the suite takes the longer of the two, not their sum.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const VM_TEST = 'test/openzfs-vm.test.ts';
const MINUTE = 60_000;

/** One runner over `files`; resolves with its exit status. `output` is a file to write to, or inherit. */
function runner(files, timeoutMs, output) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-timeout=${timeoutMs}`, ...files], {
    stdio: output ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  if (output) {
    child.stdout.pipe(output, { end: false });
    child.stderr.pipe(output, { end: false });
  }
  return new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(`run-tests: ${err.message}`);
      resolve(1);
    });
    child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const given = process.argv.slice(2);
const files = given.length ? given : readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${f}`);
const host = files.filter((f) => f !== VM_TEST);
const vm = files.filter((f) => f === VM_TEST);

let status;
if (vm.length === 0 || host.length === 0) {
  status = await runner(files, vm.length ? 30 * MINUTE : 10 * MINUTE);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tests-'));
  try {
    const log = join(dir, 'openzfs-vm.tap');
    const out = createWriteStream(log);
    const [hostStatus, vmStatus] = await Promise.all([runner(host, 10 * MINUTE), runner(vm, 30 * MINUTE, out)]);
    await new Promise((resolve) => out.end(resolve));
    process.stdout.write(`\n# ---- ${VM_TEST} (ran alongside the files above) ----\n`);
    process.stdout.write(readFileSync(log));
    if (hostStatus !== 0) console.error(`run-tests: the host's test files failed (exit ${hostStatus})`);
    if (vmStatus !== 0) console.error(`run-tests: ${VM_TEST} failed (exit ${vmStatus})`);
    status = hostStatus || vmStatus;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(status);
