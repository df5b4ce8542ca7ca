import { InvalidArgumentError } from '../../errors/index.js';
import type { DriverCapabilities, StorageDriver } from '../driver.js';
import { listDescendants, probeDataset, readAllVersions, readResumeToken, type ZfsContext } from './datasets.js';
import { destroySnapshot } from './destroy.js';
import { zfsFeatures } from './features.js';
import { assertFullName, assertZfsName, zfsNameProblem } from './names.js';
import { receiveStream } from './receive.js';
import { createSendStream, planSend } from './send.js';
import { takeSnapshots } from './snapshot.js';
import { holdSnapshots, listBookmarks, releaseSnapshots, setBookmark } from './holds.js';
import { relayNeeded, transferZfs } from './transfer.js';
import { findRelay } from '../local-pipe.js';

/** zfs drivers made by createZfsDriver in this process: the local fast path needs both ends here */
const local = new WeakMap<StorageDriver, ZfsContext>();

export { zfsCommandCount, setZfsLogger } from './run-zfs.js';
export { zfsFeatures, parseUsage, type ZfsFeatures } from './features.js';

/** The zfs driver: StorageDriver plus what only zfs has. */
export interface ZfsDriver extends StorageDriver {
  readonly kind: 'zfs';
  /** the root dataset, e.g. "pool/backup" */
  readonly root: string;
  resumeToken(fs: string): Promise<string | null>;
}

/**
 * The `zfs:pool/dataset` driver. The root dataset is a container: its descendants are the
 * filesystems, named relative to it ("a", "a/b"), so `zfs:p1/data` -> `zfs:p2/backup` puts
 * p1/data/a at p2/backup/a. Commands, errors and zfs-fuse/OpenZFS differences: docs/zfs-driver.md.
 */
export function createZfsDriver(root: string): ZfsDriver {
  const problem = zfsNameProblem('root dataset', root);
  if (problem !== null) {
    throw new InvalidArgumentError(`invalid zfs root dataset ${JSON.stringify(root)}: ${problem}`, { code: 'INVALID_ENDPOINT' });
  }
  const ctx: ZfsContext = {
    root,
    endpoint: `zfs:${root}`,
    dataset: (fs) => `${root}/${fs}`,
    absent: new Map(),
  };
  const driver: ZfsDriver = {
    kind: 'zfs',
    endpoint: ctx.endpoint,
    root,
    /** probed from `zfs -?` on first use (once per process) */
    get capabilities(): DriverCapabilities {
      const f = zfsFeatures();
      return { batch: true, resumable: f.resumable, atomicSnapshots: f.multiSnapshot };
    },

    listFilesystems: () => listDescendants(ctx),

    listVersions: async (fs) => {
      assertZfsName('filesystem', fs);
      assertFullName(ctx.dataset(fs));
      return (await probeDataset(ctx, ctx.dataset(fs))).versions;
    },

    listAllVersions: () => readAllVersions(ctx),

    snapshot: (filesystems, name) => takeSnapshots(ctx, filesystems, name),

    destroySnapshot: (fs, name) => destroySnapshot(ctx, fs, name),

    send: (fs, from, to, opts) => createSendStream(ctx, fs, from, to, opts),

    /** `zfs send -n -P` with the step's flags (OpenZFS); zfs-fuse has no dry run: undefined */
    estimateSend: async (fs, from, to, opts) => (await planSend(ctx, fs, from, to, opts)).size,

    receive: (fs, stream, opts) => receiveStream(ctx, fs, stream, opts?.signal, opts?.overrides),

    resumeToken: async (fs) => {
      assertZfsName('filesystem', fs);
      // one property, not the whole dataset's listing; none for a dataset found missing
      if (!zfsFeatures().resumable) return null;
      return readResumeToken(ctx, ctx.dataset(fs));
    },

    holdSnapshots: (fs, names, tag) => holdSnapshots(ctx, fs, names, tag),
    releaseSnapshots: (fs, names, tag) => releaseSnapshots(ctx, fs, names, tag),
    listBookmarks: (fs) => listBookmarks(ctx, fs),
    setBookmark: (fs, version, name) => setBookmark(ctx, fs, version, name),

    transferTo: async (receiver, fs, from, to, opts) => {
      const rctx = local.get(receiver);
      // the stream path when the receiver is not here, or the relay the pipe needs is missing
      if (!rctx || (relayNeeded() && findRelay() === null)) return null;
      return transferZfs(ctx, rctx, fs, from, to, opts);
    },
  };
  local.set(driver, ctx);
  return driver;
}
