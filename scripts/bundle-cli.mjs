// Bundles the compiled CLI (<out>/src/cli/main.js) with esbuild into one CommonJS file,
// <out>/bundle/ferry.cjs, which <out>/bundle/start.mjs (scripts/bundle-start.mjs) runs with V8's
// code cache. A command then reads one file instead of about 800 (ferry's ~330 modules, BullMQ's 170,
// ioredis, prom-client, pino, ...), and, from its second run on, compiles almost nothing: resolving,
// reading, lexing and compiling modules was most of a short command's start (bench/startup.bench.ts,
// bench/peers.bench.ts). One CommonJS file rather than ES chunks because Node 20 keeps no compiled
// code between runs for ES modules; a vm.Script takes a code cache on every Node version.
//
// What stays outside (required from node_modules when used): packages that find files of their own
// at run time (bull-board serves its UI's files, elkjs and ws load optional parts, pino-pretty) and
// the big ones only a few commands use (gRPC, the S3 SDK, express).
//
// The compiled tree stays beside the bundle, and code that finds files relative to its own module
// (`new URL('./commands/', import.meta.url)`: Lua scripts, protos, UI assets, package.json) still
// finds them there: each own module's `import.meta.url` is rewritten to that module's URL in the tree.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

const EXTERNAL = [
  'pino-pretty',
  '@grpc/*', 'protobufjs', 'protobufjs/*', '@aws-sdk/*',
  'express', '@bull-board/*', 'elkjs', 'elkjs/*', 'ws', '@statelyai/inspect',
  'msgpackr-extract',
];

/**
 * ferry loads BullMQ and ioredis with `createRequire(import.meta.url)(name)` (src/util/bullmq.ts:
 * an ES import of a CommonJS package makes Node lex all its files). esbuild bundles only what it can
 * see, so here they become plain `require(name)` calls, which it resolves and bundles.
 */
const REQUIRED_PACKAGES = { 'util/bullmq.js': 'bullmq', 'util/ioredis.js': 'ioredis' };

/**
 * Every character beyond ASCII (esbuild leaves them in regular expressions) as a \\u escape, which
 * means the same in strings and patterns: the launcher then reads the file as Latin-1, which makes
 * a one-byte string without decoding, about twice as fast as UTF-8 for the bundle.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

/** @param {string} out a tree built by scripts/build.mjs */
export async function bundleCli(out) {
  const { build } = await import('esbuild');
  const outdir = join(out, 'bundle');
  const roots = ['src', 'machines'].map((d) => join(out, d) + sep);
  const ownModules = {
    name: 'ferry-own-modules',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!roots.some((root) => args.path.startsWith(root))) return undefined;
        let text = await readFile(args.path, 'utf8');
        const required = Object.entries(REQUIRED_PACKAGES).find(([file]) => args.path.endsWith(sep + join('src', file)));
        if (required) {
          // tsc keeps the source's quotes, esbuild's transpiling (--transpile-only) prints double ones
          const call = new RegExp(`createRequire\\(import\\.meta\\.url\\)\\((['"])${required[1]}\\1\\)`);
          if (!call.test(text)) throw new Error(`bundle: ${args.path} no longer loads ${required[1]} with createRequire(import.meta.url)('${required[1]}'); update scripts/bundle-cli.mjs`);
          text = text.replace(call, `require('${required[1]}')`);
        }
        const here = relative(outdir, args.path).split(sep).join('/');
        text = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(here)}, __ferryBundleUrl).href`);
        return { contents: text, loader: 'js' };
      });
    },
  };
  await build({
    entryPoints: [join(out, 'src/cli/main.js')],
    outfile: join(outdir, 'ferry.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    plugins: [ownModules],
    logLevel: 'error',
    // a third less to read and compile; names are kept (stack traces name functions), and the source
    // map (without sources) gives file and line with `NODE_OPTIONS=--enable-source-maps`
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: 'linked',
    sourcesContent: false,
    // a vm.Script has no loader for import(): each one (lazily loaded code) becomes a require
    supported: { 'dynamic-import': false },
    banner: { js: "const __ferryBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  asciiOnly(join(outdir, 'ferry.cjs'));
  copyFileSync(new URL('./bundle-start.mjs', import.meta.url), join(outdir, 'start.mjs'));
}
