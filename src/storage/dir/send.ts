import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { PermanentError } from '../../errors/index.js';
import type { SendStream, Version } from '../driver.js';
import { diffManifests, type WriteOp } from './diff.js';
import { classifyError } from './fsutil.js';
import type { Layout } from './layout.js';
import { assertName } from './names.js';
import { CONTENT_PREFIX, HEADER_ENTRY, STREAM_FORMAT, streamSize, type StreamHeader } from './stream-format.js';
import { listSnapshots, loadManifest, type Snapshot } from './versions.js';

/** Fixed tar mtime, so the same send produces the same bytes. */
const EPOCH = new Date(0);

function find(snapshots: Snapshot[], fs: string, wanted: Version, role: string): Snapshot {
  const found = snapshots.find((s) => s.version.guid === wanted.guid);
  if (!found) {
    throw new PermanentError(`${role} snapshot ${fs}@${wanted.name} (guid ${wanted.guid}) does not exist on the sender`, {
      code: 'SNAPSHOT_NOT_FOUND',
      details: { fs, name: wanted.name, guid: wanted.guid },
    });
  }
  return found;
}

export async function createSendStream(layout: Layout, fs: string, from: Version | null, to: Version, signal?: AbortSignal): Promise<SendStream> {
  assertName('filesystem', fs);
  signal?.throwIfAborted();
  const snapshots = await listSnapshots(layout, fs);
  const toSnap = find(snapshots, fs, to, 'target');
  const fromSnap = from === null ? null : find(snapshots, fs, from, 'incremental source');
  if (fromSnap && fromSnap.version.createtxg >= toSnap.version.createtxg) {
    throw new PermanentError(`cannot send ${fs} from ${fromSnap.version.name} to ${toSnap.version.name}: the target is not newer`, {
      code: 'NOT_NEWER',
      details: { fs, from: fromSnap.version.name, to: toSnap.version.name },
    });
  }

  const manifest = await loadManifest(toSnap.dir);
  const ops = diffManifests(fromSnap ? await loadManifest(fromSnap.dir) : [], manifest);
  const header: StreamHeader = { format: STREAM_FORMAT, fs, from: fromSnap?.version ?? null, to: toSnap.version, manifest, ops };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const writes = ops.flatMap((op, index) => (op.op === 'write' ? [{ op, index }] : []));
  signal?.throwIfAborted();

  const pack = tar.pack();
  const onAbort = () => pack.destroy(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const dataDir = join(toSnap.dir, 'data');
  void (async () => {
    await addEntry(pack, HEADER_ENTRY, headerBytes.length, [headerBytes]);
    for (const { op, index } of writes) await addFile(pack, `${CONTENT_PREFIX}${index}`, join(dataDir, op.path), op);
    pack.finalize();
  })()
    .catch((err) => pack.destroy(classifyError(err, `sending ${fs}@${to.name}`) as Error))
    .finally(() => signal?.removeEventListener('abort', onAbort));

  // tar-stream streams are streamx; hand out a node Readable as the driver contract says.
  const stream = Readable.from(pack, { objectMode: false });
  return { stream, sizeEstimate: streamSize(headerBytes.length, writes.map((w) => w.op.size)) };
}

async function addFile(pack: tar.Pack, name: string, path: string, op: WriteOp): Promise<void> {
  const file = createReadStream(path);
  try {
    await addEntry(pack, name, op.size, file);
  } finally {
    file.destroy();
  }
}

/** One tar entry, honoring backpressure; rejects if the pack is destroyed (abort, consumer gone). */
function addEntry(pack: tar.Pack, name: string, size: number, chunks: AsyncIterable<Buffer> | Buffer[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name, size, mode: 0o644, mtime: EPOCH, type: 'file' }, (err) => (err ? reject(err) : resolve()));
    sink.on('error', () => undefined); // reported through the entry callback; unheard 'error' events would crash the process
    void (async () => {
      for await (const chunk of chunks) {
        if (sink.write(chunk)) continue;
        await new Promise<void>((ok, fail) => {
          const cleanup = () => {
            sink.off('drain', onDrain);
            sink.off('close', onClose);
          };
          const onDrain = () => (cleanup(), ok());
          const onClose = () => (cleanup(), fail(new Error('tar entry closed')));
          sink.on('drain', onDrain);
          sink.on('close', onClose);
        });
      }
      sink.end(undefined);
    })().catch((err) => {
      sink.destroy(err);
      reject(err);
    });
  });
}
