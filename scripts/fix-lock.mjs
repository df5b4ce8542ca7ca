// The npm registry reachable here does not serve msgpackr-extract's prebuilt packages for other
// platforms, so `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock
// as out of sync. This records them (os/cpu never match here, so they are never fetched).
// Run after any `npm install` that rewrites the lock: node scripts/fix-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const extract = lock.packages['node_modules/msgpackr-extract'];
let added = 0;
for (const [name, version] of Object.entries(extract?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const [, os, cpu] = /msgpackr-extract-([a-z0-9]+)-([a-z0-9]+)$/.exec(name) ?? [];
  lock.packages[key] = { version, cpu: [cpu], license: 'MIT', optional: true, os: [os] };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lock: ${added} platform entries added`);
