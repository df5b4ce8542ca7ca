#!/usr/bin/env node
// Compiles ferry to JavaScript with tsc, into a tree laid out like the repository (src/, machines/,
// proto/, bin/ferry.mjs and, with --tests, test/), and bundles the CLI into <out>/bundle/
// (scripts/bundle-cli.mjs). `node <out>/bin/ferry.mjs` then starts the bundle, without tsx's loader
// and without resolving hundreds of modules (bench/startup.bench.ts), which matters for short
// commands, on slow machines and under the OpenZFS test VM's emulated CPU.
//
//   node scripts/build.mjs [--out DIR] [--tests] [--if-possible] [--transpile-only]      (npm run build: into dist/)
//
// --transpile-only: esbuild strips the types file by file instead of tsc compiling the project, in
// a second rather than a minute, and checks nothing: for a tree whose types are checked elsewhere
// (the OpenZFS test VM's, built while the suite's own type check runs beside it).
//
// --if-possible (the `prepare` script, so on `npm ci`): without TypeScript (npm ci --omit=dev), or
// when tsc fails, say so and exit 0 without a tree: bin/ferry.mjs then runs the source through tsx.
// BUILT, written last, marks a complete tree: bin/ferry.mjs uses dist/ only with it.
// FERRY_BUILD_ON_INSTALL=0 makes --if-possible a no-op: npm test's set-up (and .ci/run) install with
// it, since the suite builds its own dist/ before the files run (scripts/run-tests.mjs), and tsc's
// build on install, some 20 CPU-seconds, held up the suite's start on a fresh machine.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MARKER = '.ferry-build';

const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist') }, tests: { type: 'boolean', default: false }, 'if-possible': { type: 'boolean', default: false }, 'transpile-only': { type: 'boolean', default: false } } });
const ifPossible = values['if-possible'];
if (ifPossible && process.env.FERRY_BUILD_ON_INSTALL === '0') {
  console.error('build: skipped on install (FERRY_BUILD_ON_INSTALL=0)');
  process.exit(0);
}
const out = resolve(values.out);
const dirs = ['src', 'machines', ...(values.tests ? ['test'] : [])];

// a directory we did not build is never emptied
if (existsSync(out) && !statSync(out).isDirectory()) {
  console.error(`build: ${out} exists and is not a directory`);
  process.exit(2);
}
if (existsSync(out) && readdirSync(out).length > 0) {
  if (!existsSync(join(out, MARKER))) {
    console.error(`build: ${out} exists and was not built by scripts/build.mjs; refusing to overwrite it`);
    process.exit(2);
  }
  rmSync(out, { recursive: true, force: true });
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, MARKER), `built from ${ROOT} at ${new Date().toISOString()}\n`);

// outside the repository, packages resolve through a link to its node_modules
const modules = realpathSync(join(ROOT, 'node_modules'));
if (ifPossible && !existsSync(join(modules, 'typescript/bin/tsc'))) {
  rmSync(out, { recursive: true, force: true });
  console.error('build: no TypeScript (a dev dependency) here: not compiled; bin/ferry.mjs runs the source through tsx');
  process.exit(0);
}
if (relative(ROOT, out).startsWith('..')) symlinkSync(modules, join(out, 'node_modules'), 'dir');

if (values['transpile-only']) await transpile();
else compile();

/** tsc over the project, into `out` (exits when it fails) */
function compile() {
  const config = join(out, '.tsconfig.build.json');
  writeFileSync(config, JSON.stringify({
    extends: join(ROOT, 'tsconfig.json'),
    compilerOptions: {
      noEmit: false, noEmitOnError: true, allowImportingTsExtensions: false,
      rootDir: ROOT, outDir: out, typeRoots: [join(modules, '@types')],
    },
    include: dirs.map((d) => join(ROOT, d)),
  }, null, 2));
  const tsc = spawnSync(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', config], { stdio: 'inherit' });
  rmSync(config);
  if (tsc.status !== 0) {
    console.error(`build: tsc failed (exit ${tsc.status ?? tsc.signal})`);
    if (ifPossible) {
      rmSync(out, { recursive: true, force: true });
      console.error('build: no compiled tree; bin/ferry.mjs runs the source through tsx');
      process.exit(0);
    }
    process.exit(1);
  }
}

/** each .ts file to .js beside where tsc would put it, types stripped by esbuild, nothing checked */
async function transpile() {
  const { build } = await import('esbuild');
  const files = dirs.flatMap((d) => readdirSync(join(ROOT, d), { recursive: true }).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(ROOT, d, f)));
  await build({ entryPoints: files, outdir: out, outbase: ROOT, format: 'esm', platform: 'node', target: 'node20', bundle: false, logLevel: 'error', tsconfig: join(ROOT, 'tsconfig.json') });
}

// what tsc does not copy: Lua scripts, fixtures, protos, the launcher, package.json ("type": "module")
function copyAssets(dir) {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) copyAssets(path);
    else if (!e.name.endsWith('.ts')) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      cpSync(join(ROOT, path), join(out, path));
    }
  }
}
dirs.forEach(copyAssets);
cpSync(join(ROOT, 'proto'), join(out, 'proto'), { recursive: true });
mkdirSync(join(out, 'bin'), { recursive: true });
cpSync(join(ROOT, 'bin/ferry.mjs'), join(out, 'bin/ferry.mjs'));
cpSync(join(ROOT, 'package.json'), join(out, 'package.json'));
// the live view's web app (docs/ui.md), where src/ui/assets.ts looks for it: <out>/ui-assets
const { buildUi } = await import('./build-ui.mjs');
await buildUi(join(out, 'ui-assets'));
// the CLI bundled (scripts/bundle-cli.mjs): what bin/ferry.mjs starts
try {
  const { bundleCli } = await import('./bundle-cli.mjs');
  await bundleCli(out);
} catch (err) {
  console.error(`build: bundling the CLI failed: ${err instanceof Error ? err.message : String(err)}`);
  if (!ifPossible) process.exit(1);
  rmSync(out, { recursive: true, force: true });
  console.error('build: no compiled tree; bin/ferry.mjs runs the source through tsx');
  process.exit(0);
}
writeFileSync(join(out, 'BUILT'), `complete at ${new Date().toISOString()}\n`);
const launcher = relative(process.cwd(), join(out, 'bin/ferry.mjs'));
console.error(`build: ${dirs.join(', ')} compiled into ${out}; run: node ${launcher.startsWith('..') ? join(out, 'bin/ferry.mjs') : launcher}`);
