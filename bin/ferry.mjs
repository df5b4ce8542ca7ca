#!/usr/bin/env node
// ferry is written in TypeScript. `npm ci` compiles and bundles it into dist/ (the `prepare` script
// runs scripts/build.mjs), and this launcher runs that bundle while it is fresh: built
// completely, and no later than every file under src/, machines/ and proto/. Otherwise (no build,
// an edit since, or FERRY_FROM_SOURCE=1, which the tests set) it runs the source through tsx. In a
// tree built by scripts/build.mjs the bundle and the compiled JavaScript sit next to this file.
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
  return ['../src', '../machines', '../proto'].every((dir) => olderThan(fileURLToPath(here(dir)), stamp));
}

/** `dir` and everything under it (a file removed changes its directory) were last changed before `stamp`. */
function olderThan(dir, stamp) {
  if (statSync(dir).mtimeMs > stamp) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() ? !olderThan(path, stamp) : statSync(path).mtimeMs > stamp) return false;
  }
  return true;
}

// the bundled CLI (scripts/bundle-cli.mjs) beside this file in a built tree (every build bundles),
// else in dist/
const bundled = here('../bundle/start.mjs');
const distBundle = here('../dist/bundle/start.mjs');
if (existsSync(bundled)) {
  await import(bundled.href);
} else if (process.env.FERRY_FROM_SOURCE !== '1' && existsSync(distBundle) && fresh(fileURLToPath(here('../dist/BUILT')))) {
  await import(distBundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
