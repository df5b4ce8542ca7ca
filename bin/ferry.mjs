#!/usr/bin/env node
// ferry is written in TypeScript. `npm ci` compiles it into dist/ (the `prepare` script runs
// scripts/build.mjs), and this launcher runs that compiled JavaScript while it is fresh: built
// completely, and no later than every file under src/, machines/ and proto/. Otherwise (no build,
// an edit since, or FERRY_FROM_SOURCE=1, which the tests set) it runs the source through tsx. In a
// tree built by scripts/build.mjs the compiled JavaScript sits next to this file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => new URL(path, import.meta.url);

/** dist/ is complete (the build's last act writes BUILT) and newer than every source file. */
function fresh(built) {
  let stamp;
  try {
    stamp = statSync(built).mtimeMs;
  } catch {
    return false;
  }
  for (const dir of ['../src/', '../machines/', '../proto/']) {
    const root = fileURLToPath(here(dir));
    for (const entry of readdirSync(root, { recursive: true })) {
      if (statSync(`${root}${entry}`).mtimeMs > stamp) return false;
    }
  }
  return true;
}

const compiled = here('../src/cli/main.js');
const built = here('../dist/src/cli/main.js');
if (existsSync(compiled)) {
  await import(compiled.href);
} else if (process.env.FERRY_FROM_SOURCE !== '1' && existsSync(built) && fresh(fileURLToPath(here('../dist/BUILT')))) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
