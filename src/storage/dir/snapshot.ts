import { createReadStream } from 'node:fs';
import { chmod, link, mkdir, readlink, rename, stat, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { assertDistinct } from '../names.js';
import { nextCreateTxg } from './counter.js';
import { errnoCode, lstatOrNull, randomHex, removeTree, writeHashed } from '../../util/fs.js';
import { assertRootExists, type Layout } from './layout.js';
import { lockFilesystem, type Lease } from './lock.js';
import { dropIndex, writeIndex } from './snapshot-index.js';
import { permissionBits, walk, type Manifest, type ManifestEntry } from './manifest.js';
import { assertName } from './names.js';
import { listSnapshots, loadManifest, newGuid, writeSnapshotFiles, type Snapshot } from './versions.js';

/** Take `name` of every filesystem: all are staged first, then renamed into place. */
export async function takeSnapshots(layout: Layout, filesystems: string[], name: string): Promise<Version[]> {
  for (const fs of filesystems) assertName('filesystem', fs);
  assertName('snapshot', name);
  assertDistinct(filesystems);
  await assertRootExists(layout);
  for (const fs of filesystems) {
    const st = await stat(layout.visible(fs)).catch(() => null);
    if (!st?.isDirectory()) {
      throw new PermanentError(`filesystem ${fs} does not exist in ${layout.root}`, { code: 'NOT_FOUND', details: { fs } });
    }
    if (await lstatOrNull(layout.snapshotDir(fs, name))) {
      throw new PermanentError(`snapshot ${fs}@${name} already exists in ${layout.root}`, { code: 'SNAPSHOT_EXISTS', details: { fs, name } });
    }
  }

  const locks: Lease[] = [];
  const staged: { fs: string; dir: string; manifest: Manifest; existing: Version[] }[] = [];
  const committed: string[] = [];
  try {
    for (const fs of [...filesystems].sort()) locks.push(await lockFilesystem(layout, fs));
    for (const fs of filesystems) {
      const existing = await listSnapshots(layout, fs);
      const dir = join(layout.tmpDir(fs), `snap-${randomHex(6)}`);
      await mkdir(join(dir, 'data'), { recursive: true });
      const manifest = await copyTree(layout.visible(fs), join(dir, 'data'), existing.at(-1));
      staged.push({ fs, dir, manifest, existing: existing.map((s) => s.version) });
    }
    const versions: Version[] = [];
    for (const { fs, dir, manifest } of staged) {
      const version: Version = { name, guid: newGuid(), createtxg: await nextCreateTxg(layout), creation: new Date().toISOString() };
      await writeSnapshotFiles(dir, { format: 'ferry-dir-meta-v1', fs, ...version, creation: version.creation!, manifest: 'manifest.json' }, manifest);
      await mkdir(layout.snapshotsDir(fs), { recursive: true });
      await dropIndex(layout, fs);
      await rename(dir, layout.snapshotDir(fs, name));
      committed.push(layout.snapshotDir(fs, name));
      versions.push(version);
    }
    // every one renamed: the indexes again (a rollback above leaves them dropped, for the next lock holder to rebuild)
    for (const [i, { fs, existing }] of staged.entries()) await writeIndex(layout, fs, [...existing, versions[i]]);
    return versions;
  } catch (err) {
    // All or nothing across the filesystems, as one `zfs snapshot` of several datasets.
    for (const dir of committed) await removeTree(dir);
    throw err;
  } finally {
    for (const { dir } of staged) await removeTree(dir);
    for (const lock of locks) await lock.release();
  }
}

/**
 * Copy the live tree into `dest`. A file unchanged since the previous snapshot (same size, mtime
 * and mode) is hardlinked to that snapshot's copy instead, so unchanged data is stored once; both
 * copies are immutable, so sharing the inode is safe.
 */
async function copyTree(source: string, dest: string, previous: Snapshot | undefined): Promise<Manifest> {
  const before = new Map<string, ManifestEntry>();
  if (previous) for (const e of await loadManifest(previous.dir)) before.set(e.path, e);
  const manifest: Manifest = [];
  const dirs: ManifestEntry[] = [];
  for await (const { rel, abs, st } of walk(source)) {
    const to = join(dest, rel);
    const mode = permissionBits(st);
    if (st.isDirectory()) {
      await mkdir(to, { mode: 0o700 }); // real mode once filled, it may be read-only
      const entry: ManifestEntry = { path: rel, type: 'dir', mode, size: 0 };
      manifest.push(entry);
      dirs.push(entry);
    } else if (st.isSymbolicLink()) {
      const target = await readlink(abs).catch((err) => (errnoCode(err) === 'ENOENT' ? null : Promise.reject(err)));
      if (target === null) continue;
      await symlink(target, to);
      manifest.push({ path: rel, type: 'symlink', mode: 0o777, size: 0, target });
    } else if (st.isFile()) {
      const old = before.get(rel);
      if (old?.type === 'file' && old.size === st.size && old.mtimeMs === st.mtimeMs && old.mode === mode
        && (await linkOrFalse(join(previous!.dir, 'data', rel), to))) {
        manifest.push(old);
        continue;
      }
      let copied: { sha256: string; size: number };
      try {
        copied = await writeHashed(to, createReadStream(abs));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        await removeTree(to); // deleted while we walked: not part of this snapshot
        continue;
      }
      const { sha256, size } = copied;
      await chmod(to, mode);
      await utimes(to, st.atime, st.mtime);
      // mtime as read before the copy: if the file changed meanwhile, the next snapshot copies it again.
      manifest.push({ path: rel, type: 'file', mode, size, sha256, mtimeMs: st.mtimeMs });
    }
    // sockets, fifos and devices are skipped: they carry no data and need privileges to recreate.
  }
  for (const d of dirs.reverse()) await chmod(join(dest, d.path), d.mode);
  return manifest;
}

/** link(), or false when it cannot be shared (too many links, previous copy missing): the caller copies. */
async function linkOrFalse(existing: string, to: string): Promise<boolean> {
  try {
    await link(existing, to);
    return true;
  } catch (err) {
    if (['EMLINK', 'ENOENT', 'EXDEV', 'EPERM'].includes(errnoCode(err) ?? '')) return false;
    throw err;
  }
}
