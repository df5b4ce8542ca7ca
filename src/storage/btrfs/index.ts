import { readdir } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { FerryError, InvalidArgumentError, TemporaryError } from '../../errors/index.js';
import { classifyError } from '../../util/fs.js';
import type { StorageDriver } from '../driver.js';
import { destroySnapshot } from './destroy.js';
import { assertOnBtrfs, makeLayout, META_DIR } from './layout.js';
import { assertName, isValidName } from './names.js';
import { receiveStream } from './receive.js';
import { createSendStream } from './send.js';
import { localSendProtocol } from './protocol.js';
import { takeSnapshots } from './snapshot.js';
import { forgetListing, isSubvolume, listReadonly, listSnapshots, type SubvolumeInfo } from './subvolume.js';
import { FreshShare } from '../../util/fresh-share.js';
import { transferBtrfs } from './transfer.js';
import { shellPipeAvailable } from '../shell-pipe.js';
import type { Layout } from './layout.js';

/** how long one listing of an endpoint answers listVersions, ms: planning's calls, one per filesystem */
const LISTING_REUSE_MS = 1000;

/** btrfs drivers made by createBtrfsDriver in this process: the local fast path needs both ends here */
const local = new WeakMap<StorageDriver, Layout>();

/** node:fs failures become TemporaryError/PermanentError at the driver's edge; anything else unknown is temporary. */
async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const classified = classifyError(err, what);
    if (classified instanceof FerryError || (classified as { name?: unknown } | null)?.name === 'AbortError') throw classified;
    throw new TemporaryError(`${what}: ${(err as Error)?.message ?? String(err)}`, { code: 'ERROR', cause: err });
  }
}

/**
 * The `btrfs:/abs/path` driver: filesystems are subvolumes directly under the root, snapshots are
 * read-only subvolumes in <root>/.ferry/snapshots/<fs>/, streams are `btrfs send` / `btrfs receive`.
 * Layout, identities and errors are in docs/btrfs-driver.md. Needs root (or CAP_SYS_ADMIN).
 */
export function createBtrfsDriver(root: string): StorageDriver {
  if (typeof root !== 'string' || !isAbsolute(root) || root.includes('\0')) {
    throw new InvalidArgumentError(`btrfs driver root must be an absolute path, got ${JSON.stringify(root)}`, { code: 'INVALID_ENDPOINT' });
  }
  const layout = makeLayout(resolve(root));
  const endpoint = `btrfs:${root}`;
  // Planning asks listVersions once per filesystem: one listing of the endpoint answers this
  // driver's calls for LISTING_REUSE_MS. Whatever the driver changes is listed afresh, by the next
  // plan and by the steps' recent listings (receives: the receiver's).
  const planning = new FreshShare<Map<string, SubvolumeInfo>>(LISTING_REUSE_MS);
  const changing = <T>(work: () => Promise<T>, changed: Layout = layout): Promise<T> => {
    const forget = () => {
      planning.forget(layout.root);
      forgetListing(changed);
    };
    forget();
    return work().finally(forget);
  };
  const driver: StorageDriver = {
    kind: 'btrfs',
    endpoint,
    capabilities: { batch: true, resumable: false, atomicSnapshots: false },

    listFilesystems: () =>
      guard(`listing ${endpoint}`, async () => {
        await assertOnBtrfs(layout.root);
        const names = new Set<string>();
        for (const name of await readdir(layout.root)) {
          if (name !== META_DIR && isValidName(name) && (await isSubvolume(layout.live(name)))) names.add(name);
        }
        // a receiver's filesystems are the snapshot directories holding versions
        const received = await readdir(layout.snapshotsRoot).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
        const candidates = received.filter((name) => !names.has(name) && isValidName(name));
        // one listing of the endpoint for every snapshot directory
        const readonly = candidates.length > 0 ? await listReadonly(layout) : new Map<string, SubvolumeInfo>();
        for (const name of candidates) {
          if ((await listSnapshots(layout, name, undefined, async () => readonly)).length > 0) names.add(name);
        }
        return [...names].sort();
      }),

    listVersions: async (fs) => {
      assertName('filesystem', fs);
      return guard(`listing versions of ${fs} in ${endpoint}`, async () => (await listSnapshots(layout, fs, undefined, () => planning.recent(layout.root, LISTING_REUSE_MS, () => listReadonly(layout)))).map((s) => s.version));
    },

    snapshot: (filesystems, name) => changing(() => guard(`snapshot ${name} in ${endpoint}`, () => takeSnapshots(layout, filesystems, name))),

    destroySnapshot: (fs, name) => changing(() => guard(`destroying ${fs}@${name} in ${endpoint}`, () => destroySnapshot(layout, fs, name))),

    send: (fs, from, to, opts) => guard(`sending ${fs} from ${endpoint}`, () => createSendStream(layout, fs, from, to, { signal: opts?.signal, intermediates: opts?.intermediates, compressed: opts?.flags?.compressed, receiverProtocol: opts?.streamProtocol })),

    receive: (fs, stream, opts) => changing(() => guard(`receiving ${fs} into ${endpoint}`, () => receiveStream(layout, fs, stream, opts?.signal))),

    /** this host's btrfs-progs receives what it sends (protocol.ts) */
    receiveProtocol: () => localSendProtocol(),

    transferTo: async (receiver, fs, from, to, opts) => {
      const rlayout = local.get(receiver);
      if (!rlayout || !shellPipeAvailable()) return null;
      return changing(() => guard(`sending ${fs} from ${endpoint} to ${receiver.endpoint}`, () => transferBtrfs(layout, rlayout, fs, from, to, opts)), rlayout);
    },
  };
  local.set(driver, layout);
  return driver;
}
