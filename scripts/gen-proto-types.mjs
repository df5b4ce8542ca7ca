// Regenerates the TypeScript types of every .proto under proto/ into src/grpc/generated/ with
// @grpc/proto-loader's own generator, so message types are never kept by hand.
//
//   node scripts/gen-proto-types.mjs            # or: npm run proto:gen
//   node scripts/gen-proto-types.mjs --out DIR  # elsewhere (test/proto-types.test.ts compares the two)
//
// The output directory is replaced as a whole: types of a removed message do not linger.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PROTO_DIR = join(ROOT, 'proto');
const DEFAULT_OUT = join(ROOT, 'src', 'grpc', 'generated');

/**
 * The same decoding as LOADER_OPTIONS in src/grpc/proto.ts (keepCase false, longs Number, enums
 * String, defaults false, oneofs true): the generated types describe what the loader hands over.
 */
const DECODING = ['--keepCase=false', '--longs=Number', '--enums=String', '--defaults=false', '--oneofs'];

/** .proto files under proto/, relative to it, sorted (a new file is picked up without editing this script). */
function protoFiles(dir = PROTO_DIR) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...protoFiles(path));
    else if (e.isFile() && e.name.endsWith('.proto')) out.push(relative(PROTO_DIR, path).split('\\').join('/'));
  }
  return out.sort();
}

function parseArgs(argv) {
  if (argv.length === 0) return DEFAULT_OUT;
  if (argv.length === 2 && argv[0] === '--out') return resolve(argv[1]);
  process.stderr.write('usage: node scripts/gen-proto-types.mjs [--out DIR]\n');
  process.exit(2);
}

const out = parseArgs(process.argv.slice(2));
const generator = createRequire(import.meta.url).resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
const files = protoFiles();
rmSync(out, { recursive: true, force: true });
// run from the repository root with a relative include dir: the "Original file:" lines are then the same everywhere
const r = spawnSync(process.execPath, [
  generator, ...DECODING,
  '--grpcLib=@grpc/grpc-js', '--includeComments',
  // ESM with NodeNext resolution: relative imports need an extension
  '--importFileExtension=.js',
  '-I', 'proto', '-O', out, ...files,
], { cwd: ROOT, stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(`proto-loader-gen-types failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})\n`);
  process.exit(1);
}
process.stdout.write(`generated types of ${files.join(', ')} into ${relative(process.cwd(), out) || '.'}\n`);
