import type { Manifest, ManifestEntry } from './manifest.js';

/**
 * What changes between two snapshots, as a receiver applies it. Only `write` carries content
 * (a tar entry named `content/<index of the op>`); a `rename` reuses the receiver's copy of a
 * file whose old path disappeared.
 */
export type Op =
  | { op: 'delete'; path: string; type: ManifestEntry['type'] }
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'symlink'; path: string; target: string }
  | { op: 'rename'; from: string; path: string; mode: number }
  | { op: 'write'; path: string; size: number; sha256: string; mode: number; mtimeMs?: number }
  | { op: 'chmod'; path: string; mode: number };

export type WriteOp = Extract<Op, { op: 'write' }>;

function sameKind(a: ManifestEntry, b: ManifestEntry): boolean {
  return a.type === b.type && (a.type !== 'symlink' || a.target === b.target);
}

function sameContent(a: ManifestEntry, b: ManifestEntry): boolean {
  return a.size === b.size && a.sha256 === b.sha256;
}

/** The ops that turn `from` into `to`; a full send is the diff from an empty manifest. */
export function diffManifests(from: Manifest, to: Manifest): Op[] {
  const fromByPath = new Map(from.map((e) => [e.path, e]));
  const toByPath = new Map(to.map((e) => [e.path, e]));

  // Paths that disappear or change kind. Only the topmost is sent: deleting a directory takes its content.
  const gone = new Set<string>();
  const deletes: Op[] = [];
  for (const e of from) {
    const now = toByPath.get(e.path);
    if (now && sameKind(e, now)) continue;
    gone.add(e.path);
    const slash = e.path.lastIndexOf('/');
    if (slash < 0 || !gone.has(e.path.slice(0, slash))) deletes.push({ op: 'delete', path: e.path, type: e.type });
  }

  // Files whose old path no longer holds a file can be renamed to a new path with the same content.
  const renameSources = new Map<string, ManifestEntry[]>();
  for (const e of from) {
    if (e.type !== 'file' || toByPath.get(e.path)?.type === 'file') continue;
    const key = `${e.sha256}:${e.size}`;
    renameSources.set(key, [...(renameSources.get(key) ?? []), e]);
  }

  const mkdirs: Op[] = [];
  const symlinks: Op[] = [];
  const renames: Op[] = [];
  const writes: Op[] = [];
  const chmods: Op[] = [];
  for (const e of to) {
    const before = fromByPath.get(e.path);
    const kept = before !== undefined && sameKind(before, e);
    if (e.type === 'dir') {
      if (!kept) mkdirs.push({ op: 'mkdir', path: e.path, mode: e.mode });
      else if (before.mode !== e.mode) chmods.push({ op: 'chmod', path: e.path, mode: e.mode });
    } else if (e.type === 'symlink') {
      if (!kept) symlinks.push({ op: 'symlink', path: e.path, target: e.target! });
    } else if (kept && sameContent(before, e)) {
      if (before.mode !== e.mode) chmods.push({ op: 'chmod', path: e.path, mode: e.mode });
    } else {
      const source = renameSources.get(`${e.sha256}:${e.size}`)?.shift();
      if (source) renames.push({ op: 'rename', from: source.path, path: e.path, mode: e.mode });
      else writes.push({ op: 'write', path: e.path, size: e.size, sha256: e.sha256!, mode: e.mode, mtimeMs: e.mtimeMs });
    }
  }
  return [...deletes, ...mkdirs, ...renames, ...symlinks, ...writes, ...chmods];
}
