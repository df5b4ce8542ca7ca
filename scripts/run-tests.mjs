// Runs the test files with node's test runner (Node 20 has no glob for --test): the files given, or
// every test/*.test.ts. The host's files run in two lanes (FERRY_TEST_LANES), each file in a runner
// of its own, the longest first; the files that use zfs-fuse or loop devices run one after another
// in the first lane (a file that started the zfs-fuse daemon stops it when done). The slow files
// (the OpenZFS VM, the docker-compose deploy, the browser) each run alongside them in a runner of
// their own, because they spend their minutes waiting on an emulated CPU, image builds or a browser
// and touch nothing of the host's storage. The OpenZFS VM's image is built (once per machine) in
// that runner too, and the whole suite's type check (tsc) runs beside the files as well: the suite
// takes the longest of them, not their sum; everything but the VM's job runs at a lower priority
// (YIELD_NICENESS), the VM's chain being the longest. A host file's output is printed when it
// ends, the others' when all are done, then each file's seconds.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/** each runs beside the host's files, with its own timeout */
const SLOW = { 'test/openzfs-vm.test.ts': 30, 'test/deploy.test.ts': 20, 'test/ui-browser.test.ts': 10 };
const MINUTE = 60_000;

/**
 * The test pools' and btrfs images' folder (test/helpers/images-dir.ts): /dev/shm when it is a tmpfs
 * with room, so that a zfs-fuse txg sync or a loop device's flush waits on no disk (a busy machine's
 * image builds and VMs keep it saturated: zfs.test.ts took 121-135 s under a writer's fsyncs on
 * disk, 64-66 s on tmpfs), else the temp dir. FERRY_TEST_IMAGES_DIR set by the caller wins.
 */
function imagesDir() {
  if (process.env.FERRY_TEST_IMAGES_DIR !== undefined) return process.env.FERRY_TEST_IMAGES_DIR;
  try {
    const s = statfsSync('/dev/shm');
    return s.type === TMPFS_MAGIC && s.bavail * s.bsize >= 6 * 1024 ** 3 ? '/dev/shm' : '';
  } catch {
    return '';
  }
}
const TMPFS_MAGIC = 0x01021994;
const IMAGES_DIR = imagesDir();

/**
 * Whether the ferry the tests spawn (bin/ferry.mjs) runs the bundle in dist/: set once the whole
 * suite's build succeeded (buildForTests), else the tests run the source through tsx (a single file's
 * run, or a build that failed: the type check then says why).
 */
let bundled = false;

/**
 * dist/ built (scripts/build.mjs) before the files that spawn ferry run: under tsx every spawned
 * command compiled the source again (cli.test.ts: 99 CPU-s from the source, 39 from the bundle).
 * bin/ferry.mjs runs the bundle only while it is fresh. Transpiled by esbuild rather than compiled
 * by tsc (a second against some 20 CPU-seconds, before any host file can start): the type check
 * runs beside the files, and test/build.test.ts builds and runs a tree as `npm ci` builds it.
 */
async function buildForTests(output) {
  const status = await run(process.execPath, ['scripts/build.mjs', '--transpile-only'], output);
  bundled = status === 0;
  if (!bundled) output.write(`run-tests: scripts/build.mjs failed (exit ${status}): the tests run ferry's source through tsx\n`);
}

/** One runner over `files`; resolves with its exit status. `output` is a file to write to, or inherit. */
function runner(files, timeoutMs, output, { yieldCpu = false } = {}) {
  const env = { FERRY_FROM_SOURCE: bundled ? '' : '1', FERRY_TEST_IMAGES_DIR: IMAGES_DIR, ...(cacheHome ? { XDG_CACHE_HOME: cacheHome } : {}) };
  return run(process.execPath, ['--import', 'tsx', '--test', `--test-timeout=${timeoutMs}`, ...files], output, { env, yieldCpu });
}

/**
 * The niceness of everything but the OpenZFS VM's job in a whole suite's run. The VM's image build
 * and then its two emulated CPUs are the suite's longest chain, and the machine is busy all through
 * (2,600 CPU-seconds in a fresh machine's 1,360 s here): at an equal share the image was ready
 * only after the host's files were done (1,121 s against 981), and the VMs then ran alone, the
 * second CPU idle once one of them was done. A lower priority for the rest lets the chain run
 * beside the files that can wait. Within this session only: a build that scripts/setup.sh started
 * runs in a session of its own (setsid), and Linux's autogroups share the CPU between sessions
 * equally, whatever the niceness; .ci/run's build is in the suite's session.
 */
const YIELD_NICENESS = 5;
const NICE = ['/usr/bin/nice', '/bin/nice'].find((p) => existsSync(p));

/** the bundle's code cache (and any other cache) of the suite's runs: in its temp dir, not the user's */
let cacheHome = null;

/** `cmd args`, its output to `output` (a stream) or inherited, at YIELD_NICENESS when `yieldCpu`; resolves with its exit status. */
function run(cmd, args, output, { env = {}, yieldCpu = false } = {}) {
  if (yieldCpu && NICE) [cmd, args] = [NICE, ['-n', String(YIELD_NICENESS), cmd, ...args]];
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: output ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
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

/** how many of the host's files run at once: most of their time is spent waiting (servers, timers, zfs-fuse) */
const LANES = Math.max(1, Number(process.env.FERRY_TEST_LANES) || 2);

/** the host's files that take minutes (seen on a 2-CPU machine), started first so that no lane ends alone with one */
const LONG_FIRST = [
  'test/build.test.ts', 'test/service.e2e.test.ts', 'test/stream-memory.test.ts', 'test/cli.test.ts', 'test/redis-ha.test.ts',
  'test/many-hosts.test.ts', 'test/chaos.test.ts', 'test/startup.test.ts', 'test/s3-sink.test.ts', 'test/config.test.ts',
  'test/engine.redis.test.ts', 'test/archiver.redis.test.ts', 'test/health.test.ts', 'test/dir-crash.test.ts',
];

/** a file that uses zfs-fuse or loop devices (the test helpers that make pools and btrfs images) */
function usesStorage(file) {
  return /helpers\/(zfs|btrfs)\.js/.test(readFileSync(file, 'utf8'));
}

/**
 * The host's files in LANES lanes, each file in a runner of its own with its output written to
 * `out` when it ends. The storage files go one after another in the first lane before it takes
 * from the shared queue. Resolves with each file's status and seconds.
 */
async function hostLanes(files, out) {
  const storage = files.filter(usesStorage);
  const rank = (f) => (LONG_FIRST.includes(f) ? LONG_FIRST.indexOf(f) : LONG_FIRST.length);
  const queue = files.filter((f) => !storage.includes(f)).sort((a, b) => rank(a) - rank(b));
  const results = [];
  const runFile = async (file) => {
    const chunks = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    const started = seconds();
    const status = await runner([file], 10 * MINUTE, sink, { yieldCpu: true });
    const took = seconds() - started;
    out.write(`\n# ---- ${file} (${took} s${status === 0 ? '' : `, exit ${status}`}) ----\n`);
    out.write(Buffer.concat(chunks));
    results.push({ file, status, seconds: took });
  };
  const lanes = [];
  const lane = async (own, i) => {
    for (const file of own) await runFile(file);
    const storageEnd = seconds();
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runFile(file);
    lanes[i] = `lane ${i + 1} ${seconds()} s${own.length ? ` (its storage files until ${storageEnd} s)` : ''}`;
  };
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i === 0 ? storage : [], i)));
  return { results, lanes };
}

const VM_FILE = 'test/openzfs-vm.test.ts';
/** when the VM's image was there (built, or found built), in the suite's seconds */
let vmImageReady = null;

const suiteStarted = Date.now();
/** seconds since the suite started */
const seconds = () => Math.round((Date.now() - suiteStarted) / 1000);

/** The VM's image first (a no-op once built; root only, as debootstrap needs), then its test file. */
async function vmJob(output) {
  if (process.getuid?.() === 0 && existsSync('scripts/openzfs-vm/build.sh')) {
    const built = await run('bash', ['scripts/openzfs-vm/build.sh'], output);
    vmImageReady = seconds();
    // the test file then says why the VM is missing (and fails under CI=true)
    if (built !== 0) output.write(`run-tests: scripts/openzfs-vm/build.sh failed (exit ${built})\n`);
  }
  return runner([VM_FILE], SLOW[VM_FILE] * MINUTE, output);
}

const given = process.argv.slice(2);
const files = given.length ? given : readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${f}`);
const host = files.filter((f) => !(f in SLOW));
/** what runs beside the host's files, each with its output kept until the end */
const beside = files.filter((f) => f in SLOW).map((f) => ({ name: f, start: f === VM_FILE ? vmJob : (out) => runner([f], SLOW[f] * MINUTE, out, { yieldCpu: true }) }));
// the whole suite (npm test) checks the types too; a run of chosen files does not
if (!given.length) beside.unshift({ name: 'type check (tsc --noEmit)', start: (out) => run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], out, { yieldCpu: true }) });

let status;
if (files.length === 1) {
  status = await (files[0] === VM_FILE ? vmJob(process.stdout) : runner(files, (SLOW[files[0]] ?? 10) * MINUTE));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tests-'));
  cacheHome = join(dir, 'cache');
  try {
    // the VM compiles a tree of its own, the deploy builds images: neither waits for the build
    const built = buildForTests(process.stdout);
    const after = ['test/ui-browser.test.ts'];
    const jobs = beside.map((j, i) => ({ ...j, log: join(dir, `${i}.log`), start: after.includes(j.name) ? (out) => built.then(() => j.start(out)) : j.start }));
    for (const j of jobs) j.stream = createWriteStream(j.log);
    const [{ results: hostResults, lanes }, ...besideStatus] = await Promise.all([
      host.length ? built.then(() => hostLanes(host, process.stdout)) : { results: [], lanes: [] },
      ...jobs.map((j) => j.start(j.stream).then((s) => ((j.seconds = seconds()), s))),
    ]);
    for (const j of jobs) {
      await new Promise((resolve) => j.stream.end(resolve));
      process.stdout.write(`\n# ---- ${j.name} (ran alongside the files above, ${j.seconds} s) ----\n`);
      process.stdout.write(readFileSync(j.log));
    }
    const failed = hostResults.filter((r) => r.status !== 0);
    // where the time went, in the suite's seconds: a CI log may be all there is to go on
    const ends = [...lanes, ...jobs.map((j) => `${j.name} ${j.seconds} s${j.name === VM_FILE && vmImageReady !== null ? ` (its image ready at ${vmImageReady} s)` : ''}`)];
    process.stdout.write(`\n# run-tests: ${seconds()} s in all; ended: ${ends.join(', ')}; the slowest host files: ${[...hostResults].sort((a, b) => b.seconds - a.seconds).slice(0, 12).map((r) => `${r.file} ${r.seconds} s`).join(', ')}\n`);
    for (const r of failed) console.error(`run-tests: ${r.file} failed (exit ${r.status})`);
    jobs.forEach((j, i) => besideStatus[i] !== 0 && console.error(`run-tests: ${j.name} failed (exit ${besideStatus[i]})`));
    status = failed.length ? 1 : besideStatus.find((s) => s !== 0) || 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(status);
