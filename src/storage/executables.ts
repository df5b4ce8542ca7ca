import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The absolute directories of $PATH, in order (relative entries would depend on the cwd). */
function pathDirs(): string[] {
  return (process.env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'));
}

/** The first executable `<dir>/<name>` of `dirs`, or null. */
export function findExecutable(name: string, dirs: readonly string[]): string | null {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next directory
    }
  }
  return null;
}

const found = new Map<string, string>();

/**
 * `name` from $PATH, then `extraDirs` (root's tools are often not on a service's PATH). A hit is
 * kept for the process; a miss is not (the tool may be installed later).
 */
export function findOnPath(name: string, extraDirs: readonly string[]): string | null {
  const key = `${name}\0${extraDirs.join(':')}`;
  const cached = found.get(key);
  if (cached) return cached;
  const path = findExecutable(name, [...pathDirs(), ...extraDirs]);
  if (path) found.set(key, path);
  return path;
}
