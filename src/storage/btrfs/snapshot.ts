import { lstat, mkdir } from 'node:fs/promises';
import { InvalidArgumentError, PermanentError, TemporaryError } from '../../errors/index.js';
import type { Version } from '../driver.js';
import { assertDistinct } from '../names.js';
import { assertOnBtrfs, type Layout } from './layout.js';
import { assertName } from './names.js';
import { runShellSequence } from '../shell-sequence.js';
import { btrfsCommand, btrfsEnv, classifyBtrfsFailure, runBtrfs } from './run-btrfs.js';
import { isSubvolume, listReadonly, showSubvolume, toVersion } from './subvolume.js';

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(err)),
  );
}

/**
 * `btrfs subvolume snapshot -r <root>/<fs> <root>/.ferry/snapshots/<fs>/<name>` for each filesystem,
 * one after another in one shell (one fork of Node for all: src/storage/shell-sequence.ts; not at
 * one instant: capabilities.atomicSnapshots is false). Everything is checked first; if one fails,
 * none after it is taken and the ones this call took are deleted again.
 */
export async function takeSnapshots(layout: Layout, filesystems: string[], name: string): Promise<Version[]> {
  if (!Array.isArray(filesystems)) throw new InvalidArgumentError('filesystems must be a list of names', { code: 'INVALID_ARGUMENT' });
  for (const fs of filesystems) assertName('filesystem', fs);
  assertName('snapshot', name);
  assertDistinct(filesystems);
  await assertOnBtrfs(layout.root);
  for (const fs of filesystems) {
    if (!(await isSubvolume(layout.live(fs)))) {
      throw new PermanentError(`filesystem ${fs} is not a subvolume in ${layout.root}`, { code: 'NOT_FOUND', details: { fs } });
    }
    if (await exists(layout.snapshotPath(fs, name))) {
      throw new PermanentError(`snapshot ${fs}@${name} already exists in ${layout.root}`, { code: 'SNAPSHOT_EXISTS', details: { fs, name } });
    }
  }
  let taken: string[] = [];
  const paths = filesystems.map((fs) => layout.snapshotPath(fs, name));
  try {
    for (const fs of filesystems) await mkdir(layout.snapshotsDir(fs), { recursive: true });
    const args = filesystems.map((fs, i) => ['-q', 'subvolume', 'snapshot', '-r', layout.live(fs), paths[i]]);
    const outcome = await runShellSequence(args.map((a) => btrfsCommand(a)), { env: btrfsEnv() });
    taken = paths.slice(0, outcome.done);
    const f = outcome.failed;
    // a shell that died mid-command may have left that command's snapshot (btrfs failing a
    // command takes none): it goes with the rest
    if (f && f.index < 0 && outcome.done < paths.length && (await isSubvolume(paths[outcome.done]))) taken.push(paths[outcome.done]);
    if (f) throw f.index < 0 ? new TemporaryError(`the shell taking btrfs snapshots failed: ${f.stderr || `exit ${f.code ?? f.signal}`}`, { code: 'SNAPSHOT_FAILED' }) : classifyBtrfsFailure(args[f.index], f, f.stderr);
    // one listing describes every new snapshot (a `show` each would scan the filesystem each time)
    const listed = await listReadonly(layout);
    const versions: Version[] = [];
    for (const path of paths) versions.push(toVersion(name, listed.get(path) ?? (await showSubvolume(path))));
    return versions;
  } catch (err) {
    for (const path of taken.reverse()) await runBtrfs(['-q', 'subvolume', 'delete', path]).catch(() => undefined);
    throw err;
  }
}
