import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { writeTarEntry } from '../../util/tar-streams.js';
import type { SendStream, Version } from '../driver.js';
import { findSendPair } from '../find-snapshot.js';
import { diffManifests, type WriteOp } from './diff.js';
import { classifyError } from '../../util/fs.js';
import type { Layout } from './layout.js';
import { assertName } from './names.js';
import { assertHeaderSize, CONTENT_PREFIX, HEADER_ENTRY, STREAM_FORMAT, streamSize, type StreamHeader } from './stream-format.js';
import { listSnapshots, loadManifest } from './versions.js';

/** Fixed tar mtime, so the same send produces the same bytes. */
const EPOCH = new Date(0);

/** What a send of the step carries: its header and the files to write (from the manifests, no data read). */
async function planDirSend(layout: Layout, fs: string, from: Version | null, to: Version, signal?: AbortSignal) {
  assertName('filesystem', fs);
  signal?.throwIfAborted();
  const snapshots = await listSnapshots(layout, fs);
  const { toSnap, fromSnap } = findSendPair(snapshots, fs, from, to);

  const manifest = await loadManifest(toSnap.dir);
  const ops = diffManifests(fromSnap ? await loadManifest(fromSnap.dir) : [], manifest);
  const header: StreamHeader = { format: STREAM_FORMAT, fs, from: fromSnap?.version ?? null, to: toSnap.version, manifest, ops };
  const headerBytes = Buffer.from(JSON.stringify(header));
  assertHeaderSize(headerBytes.length);
  const writes = ops.flatMap((op, index) => (op.op === 'write' ? [{ op, index }] : []));
  signal?.throwIfAborted();
  return { toSnap, headerBytes, writes, size: streamSize(headerBytes.length, writes.map((w) => w.op.size)) };
}

/** The exact bytes of the step's stream, from the manifests (a dry run reads no file data). */
export async function estimateDirSend(layout: Layout, fs: string, from: Version | null, to: Version, signal?: AbortSignal): Promise<number> {
  return (await planDirSend(layout, fs, from, to, signal)).size;
}

export async function createSendStream(layout: Layout, fs: string, from: Version | null, to: Version, signal?: AbortSignal): Promise<SendStream> {
  const { toSnap, headerBytes, writes, size } = await planDirSend(layout, fs, from, to, signal);

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
  return { stream, sizeEstimate: size };
}

async function addFile(pack: tar.Pack, name: string, path: string, op: WriteOp): Promise<void> {
  const file = createReadStream(path);
  try {
    await addEntry(pack, name, op.size, file);
  } finally {
    file.destroy();
  }
}

function addEntry(pack: tar.Pack, name: string, size: number, chunks: AsyncIterable<Buffer> | Buffer[]): Promise<void> {
  return writeTarEntry(pack, { name, size, mode: 0o644, mtime: EPOCH, type: 'file' }, chunks);
}
