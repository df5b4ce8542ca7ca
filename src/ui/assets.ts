import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** where scripts/build-ui.mjs puts the web app (from src/ui/ of a checkout, a package or a build tree: <root>/ui-assets) */
export const ASSETS_DIR = fileURLToPath(new URL('../../ui-assets/', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-ui.mjs', import.meta.url));
const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.map': 'application/json', '.json': 'application/json',
};

/**
 * The built web app: in a package (built by the `prepack` script) and in a tree of
 * scripts/build.mjs (built with it); in a source checkout, built now, on the first `serve --ui`
 * and again whenever a file of src/ui/web is newer than the build, with esbuild (a dev dependency).
 */
export async function ensureAssets(dir = ASSETS_DIR): Promise<string> {
  const index = join(dir, 'index.html');
  const built = existsSync(index);
  if (built && !sourcesNewer(index)) return dir;
  try {
    if (!existsSync(BUILD_SCRIPT)) throw new Error(`${BUILD_SCRIPT} is missing`);
    const { buildUi } = (await import(pathToFileURL(BUILD_SCRIPT).href)) as { buildUi(out?: string): Promise<void> };
    await buildUi(dir);
  } catch (err) {
    // a stale build still serves; none at all cannot
    if (!built) throw new Error(`the live view's web app is not built (${dir}) and cannot be built here (${(err as Error).message}): run node scripts/build-ui.mjs in a source checkout, or reinstall ferry`, { cause: err });
  }
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
