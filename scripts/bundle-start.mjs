// Runs the bundled CLI beside this file (ferry.cjs, made by scripts/bundle-cli.mjs) with V8's code
// cache: the code a command compiled is kept after its first successful run, per command, and the
// later runs of that command take it instead of compiling (Node 20 has no compile cache of its own;
// Node 22's `module.enableCompileCache` does not cover a vm.Script).
//
// The cache lives in $XDG_CACHE_HOME/ferry or ~/.cache/ferry (a directory only its user can
// write: V8 runs what it finds there), named after the bundle's size and time, Node's version and
// the command (one file per command: another build's is removed). V8 rejects a cache that does not
// match the source or itself; the run then compiles as without one and writes a fresh cache.
// FERRY_COMPILE_CACHE=0 turns it off. Any failure to read or write the cache only costs speed.
import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const file = fileURLToPath(new URL('./ferry.cjs', import.meta.url));
const command = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? 'none';
const commandTag = `-${/^[a-z][a-z-]{0,31}$/.test(command) ? command : 'other'}.v8`;
const cacheFile = process.env.FERRY_COMPILE_CACHE === '0' ? null : cachePath();
const cached = cacheFile ? readCache(cacheFile) : undefined;
// the function around a CommonJS module's code, as Node's own loader makes it
// (the bundle is ASCII: read as Latin-1, it needs no decoding)
const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(file, 'latin1')}\n})`;
const script = new Script(source, { filename: file, cachedData: cached });
if (cacheFile && (cached === undefined || script.cachedDataRejected)) process.once('exit', (code) => { if (code === 0) writeCache(cacheFile); });
const module = { exports: {}, filename: file, id: file };
script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));

function cachePath() {
  try {
    const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const { size, mtimeMs } = statSync(file);
    return join(base, 'ferry', `cli-${size}-${Math.trunc(mtimeMs)}-${process.version}-${process.arch}${commandTag}`);
  } catch {
    return null;
  }
}

/** The cache, if its directory is this user's own and no one else's to write. */
function readCache(path) {
  try {
    const dir = lstatSync(dirname(path));
    if (!dir.isDirectory() || dir.uid !== process.getuid?.() || (dir.mode & 0o022) !== 0) return undefined;
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** What this run compiled: the command's first successful run, or the first after V8 refused the cache. */
function writeCache(path) {
  try {
    const data = script.createCachedData();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, path);
    // the same command's cache of another build: stale, or another tree's (which then writes its own again)
    for (const other of readdirSync(dirname(path))) {
      if (other.startsWith('cli-') && other.endsWith(commandTag) && join(dirname(path), other) !== path) rmSync(join(dirname(path), other), { force: true });
    }
  } catch {
    // a read-only home, a full disk: the next run compiles again
  }
}
