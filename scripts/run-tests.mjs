// Runs the test files with node's test runner (Node 20 has no glob for --test): the files given, or
// every test/*.test.ts. The host's files run one at a time (they share one zfs-fuse daemon, loop
// devices and the CPU); the slow files (the OpenZFS VM, the docker-compose deploy, the browser) each
// run alongside them in a runner of their own, because they spend their minutes waiting on an
// emulated CPU, image builds or a browser and touch nothing of the host's storage. Their output is
// printed when all are done, so the suite takes the longest of them, not their sum.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** each runs beside the host's files, with its own timeout */
const SLOW = { 'test/openzfs-vm.test.ts': 30, 'test/deploy.test.ts': 20, 'test/ui-browser.test.ts': 10 };
const MINUTE = 60_000;

/** One runner over `files`; resolves with its exit status. `output` is a file to write to, or inherit. */
function runner(files, timeoutMs, output) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-timeout=${timeoutMs}`, ...files], {
    // the tests run the source: bin/ferry.mjs would otherwise run dist/ when fresh (test/build.test.ts tests a build)
    env: { ...process.env, FERRY_FROM_SOURCE: '1' },
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
const host = files.filter((f) => !(f in SLOW));
const slow = files.filter((f) => f in SLOW);

let status;
if (slow.length === 0 || (host.length === 0 && slow.length === 1)) {
  status = await runner(files, (SLOW[files[0]] ?? 10) * MINUTE);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tests-'));
  try {
    const outs = slow.map((f) => ({ file: f, log: join(dir, `${f.replace(/\W+/g, '_')}.tap`) }));
    for (const o of outs) o.stream = createWriteStream(o.log);
    const [hostStatus, ...slowStatus] = await Promise.all([
      host.length ? runner(host, 10 * MINUTE) : 0,
      ...outs.map((o) => runner([o.file], SLOW[o.file] * MINUTE, o.stream)),
    ]);
    for (const o of outs) {
      await new Promise((resolve) => o.stream.end(resolve));
      process.stdout.write(`\n# ---- ${o.file} (ran alongside the files above) ----\n`);
      process.stdout.write(readFileSync(o.log));
    }
    if (hostStatus !== 0) console.error(`run-tests: the host's test files failed (exit ${hostStatus})`);
    outs.forEach((o, i) => slowStatus[i] !== 0 && console.error(`run-tests: ${o.file} failed (exit ${slowStatus[i]})`));
    status = hostStatus || slowStatus.find((s) => s !== 0) || 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(status);
