import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/replication.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const GENERATED = join(ROOT, 'src', 'grpc', 'generated');

/** relative path -> content of every file under dir */
function files(dir: string, base = dir): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) for (const [k, v] of files(path, base)) out.set(k, v);
    else out.set(relative(base, path), readFileSync(path, 'utf8'));
  }
  return out;
}

function protos(dir = join(ROOT, 'proto')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? protos(join(dir, e.name)) : e.name.endsWith('.proto') ? [join(dir, e.name)] : []));
}

describe('generated proto types', () => {
  it('src/grpc/generated is what scripts/gen-proto-types.mjs makes of proto/ now (run `npm run proto:gen` after changing a .proto)', () => {
    const d = tempDir('proto-gen');
    try {
      const out = join(d.path, 'generated');
      const r = spawnSync(process.execPath, ['scripts/gen-proto-types.mjs', '--out', out], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, `the generator failed: ${r.stderr}`);
      const fresh = files(out);
      const committed = files(GENERATED);
      const missing = [...fresh.keys()].filter((k) => !committed.has(k));
      const extra = [...committed.keys()].filter((k) => !fresh.has(k));
      const stale = [...fresh.keys()].filter((k) => committed.has(k) && committed.get(k) !== fresh.get(k));
      assert.deepEqual({ missing, extra, stale }, { missing: [], extra: [], stale: [] }, 'src/grpc/generated is out of date: run `npm run proto:gen` and commit the result');
    } finally {
      d.remove();
    }
  });

  it('covers every .proto under proto/ (each has its package root type)', () => {
    const roots = new Set(readdirSync(GENERATED).filter((f) => f.endsWith('.ts')));
    const all = protos();
    assert.ok(all.length >= 2, 'proto/ holds the endpoint and health protos at least');
    for (const p of all) assert.ok(roots.has(basename(p).replace(/\.proto$/, '.ts')), `no generated root for ${relative(ROOT, p)}`);
  });
});
