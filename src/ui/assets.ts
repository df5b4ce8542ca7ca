import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** where scripts/build-ui.mjs puts the web app; shipped in the package (see .npmignore) */
export const ASSETS_DIR = fileURLToPath(new URL('../../ui-assets/', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-ui.mjs', import.meta.url));
const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.map': 'application/json', '.json': 'application/json',
};

/**
 * The built web app: present in a package (built at `npm pack`/`npm ci` by the `prepare` script);
 * in a source checkout that has not built it yet, built now with esbuild (a dev dependency).
 */
export async function ensureAssets(dir = ASSETS_DIR): Promise<string> {
  if (existsSync(join(dir, 'index.html')) && !sourcesNewer(join(dir, 'index.html'))) return dir;
  if (!existsSync(BUILD_SCRIPT)) throw new Error(`the live view's web app is missing (${dir}) and cannot be built here: reinstall ferry`);
  const { buildUi } = (await import(pathToFileURL(BUILD_SCRIPT).href)) as { buildUi(out?: string): Promise<void> };
  await buildUi(dir);
  return dir;
}

/** In a source checkout: whether a file of src/ui/web changed after the build (a package has no sources: false). */
function sourcesNewer(built: string): boolean {
  if (!existsSync(WEB_DIR)) return false;
  const at = statSync(built).mtimeMs;
  return readdirSync(WEB_DIR).some((f) => statSync(join(WEB_DIR, f)).mtimeMs > at);
}

/** A file of the web app by its path under the assets folder, or null (nothing outside it is served). */
export async function readAsset(dir: string, path: string): Promise<{ body: Buffer; type: string } | null> {
  const file = normalize(join(dir, path));
  if (!file.startsWith(normalize(dir).replace(/[/\\]?$/, sep))) return null;
  try {
    return { body: await readFile(file), type: TYPES[extname(file)] ?? 'application/octet-stream' };
  } catch {
    return null;
  }
}
