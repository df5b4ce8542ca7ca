#!/usr/bin/env node
// ferry is written in TypeScript. In the repository it runs through tsx, so `npx ferry` works
// straight after `npm ci`; in a tree built by scripts/build.mjs (npm run build) the compiled
// JavaScript sits next to this file and starts without tsx's loader.
import { existsSync } from 'node:fs';

const compiled = new URL('../src/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
