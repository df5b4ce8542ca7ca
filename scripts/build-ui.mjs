#!/usr/bin/env node
// Builds the live view's web app (src/ui/web, docs/ui.md) into ui-assets/: one ES module bundle
// (esbuild), the page and its stylesheet. Nothing is loaded from the internet at run time.
// Runs before `npm pack` (the `prepack` script), in scripts/build.mjs (into <out>/ui-assets), and on demand when
// `ferry serve --ui` starts in a source checkout that has not built it (src/ui/assets.ts).
//
//   node scripts/build-ui.mjs [--out DIR]
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WEB = join(ROOT, 'src', 'ui', 'web');
export const DEFAULT_OUT = join(ROOT, 'ui-assets');

/** Builds into `out` (a sibling temp folder first, renamed into place: a reader never sees half a build). */
export async function buildUi(out = DEFAULT_OUT) {
  const { build } = await import('esbuild');
  const tmp = `${out.replace(/[/\\]$/, '')}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await build({
    entryPoints: [join(WEB, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    platform: 'browser',
    minify: true,
    sourcemap: 'linked',
    outfile: join(tmp, 'app.js'),
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(WEB, f), join(tmp, f));
  rmSync(out, { recursive: true, force: true });
  try {
    renameSync(tmp, out);
  } catch (err) {
    // another process built it at the same time: theirs is as good
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(out, 'index.html'))) throw err;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: DEFAULT_OUT } } });
  await buildUi(resolve(values.out));
  console.log(`build-ui: ${resolve(values.out)}`);
}
