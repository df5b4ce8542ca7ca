import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../errors/index.js';
import type { StorageDriver } from '../driver.js';
import { destroySnapshot } from './destroy.js';
import { classifyError } from '../../util/fs.js';
import { assertRootExists, makeLayout, META_DIR } from './layout.js';
import { assertName, isValidName } from './names.js';
import { receiveStream } from './receive.js';
import { createSendStream, estimateDirSend } from './send.js';
import { takeSnapshots } from './snapshot.js';
import { listVersions } from './versions.js';

/** Turn node:fs failures into TemporaryError/PermanentError at the driver's edge. */
async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyError(err, what);
  }
}

export interface DirDriverOptions {
  /**
   * How long the lock of a filesystem outlives a holder that stopped renewing it (a crashed
   * process), in milliseconds.
   * @defaultValue DEFAULT_LOCK_LEASE_MS (30 s)
   */
  lockLeaseMs?: number;
}

/**
 * The `dir:/abs/path` driver: plain directories, no privileges. Layout and stream format are in
 * docs/dir-driver.md.
 */
export function createDirDriver(root: string, opts: DirDriverOptions = {}): StorageDriver {
  if (typeof root !== 'string' || !isAbsolute(root) || root.includes('\0')) {
    throw new InvalidArgumentError(`dir driver root must be an absolute path, got ${JSON.stringify(root)}`, { code: 'INVALID_ENDPOINT' });
  }
  const layout = makeLayout(resolve(root), opts);
  const endpoint = `dir:${root}`;
  return {
    kind: 'dir',
    endpoint,
    // snapshots of several filesystems are all-or-nothing, but not taken at one instant. A listing
    // is a local file read and parsed here: two at once overlap one's read with the other's parse,
    // more only keep more parsed versions alive through young-generation GCs (bench/README.md, planning)
    capabilities: { batch: false, resumable: false, atomicSnapshots: false, listingsAtOnce: 2 },

    listFilesystems: () =>
      guard(`listing ${endpoint}`, async () => {
        await assertRootExists(layout);
        const names: string[] = [];
        for (const d of await readdir(layout.root, { withFileTypes: true })) {
          // Names the driver could not accept as arguments are not filesystems (e.g. `.ferry`, "my files").
          if (d.name === META_DIR || !isValidName(d.name)) continue;
          if (d.isDirectory() || (d.isSymbolicLink() && (await stat(join(layout.root, d.name)).catch(() => null))?.isDirectory())) {
            names.push(d.name);
          }
        }
        return names.sort();
      }),

    listVersions: async (fs) => {
      assertName('filesystem', fs);
      return guard(`listing versions of ${fs} in ${endpoint}`, () => listVersions(layout, fs));
    },

    snapshot: (filesystems, name) => guard(`snapshot ${name} in ${endpoint}`, () => takeSnapshots(layout, filesystems, name)),

    destroySnapshot: (fs, name) => guard(`destroying ${fs}@${name} in ${endpoint}`, () => destroySnapshot(layout, fs, name)),

    send: (fs, from, to, opts) => guard(`sending ${fs} from ${endpoint}`, () => createSendStream(layout, fs, from, to, opts?.signal)),
    estimateSend: (fs, from, to, opts) => guard(`sizing a send of ${fs} from ${endpoint}`, () => estimateDirSend(layout, fs, from, to, opts?.signal)),

    receive: (fs, stream, opts) => guard(`receiving ${fs} into ${endpoint}`, () => receiveStream(layout, fs, stream, opts?.signal)),
  };
}
