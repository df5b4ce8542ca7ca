import type { StorageDriver } from '../driver.js';
import { describesReceiver, REMOTE_CAPABILITIES, resumes } from './capabilities.js';
import type { RemoteEndpoint } from './driver.js';

/**
 * The remote driver (./driver.ts) with its gRPC stack loaded at its first call, so that a command
 * on local endpoints (`ferry snapshot dir:…`, `ferry replicate btrfs:… btrfs:…`) never loads gRPC
 * and protobufjs. Same methods, same answers.
 */
export function lazyRemoteDriver(remote: RemoteEndpoint): StorageDriver {
  let loading: Promise<StorageDriver> | undefined;
  const real = () => (loading ??= import('./driver.js').then((m) => m.createRemoteDriver(remote)));
  return {
    kind: remote.kind,
    endpoint: remote.url,
    capabilities: REMOTE_CAPABILITIES[remote.kind],
    listFilesystems: async () => (await real()).listFilesystems(),
    listVersions: async (fs) => (await real()).listVersions(fs),
    snapshot: async (filesystems, name) => (await real()).snapshot(filesystems, name),
    destroySnapshot: async (fs, name) => (await real()).destroySnapshot(fs, name),
    send: async (fs, from, to, o) => (await real()).send(fs, from, to, o),
    receive: async (fs, stream, o) => (await real()).receive(fs, stream, o),
    ...(resumes(remote.kind) ? { resumeToken: async (fs: string) => (await real()).resumeToken!(fs) } : {}),
    ...(describesReceiver(remote.kind) ? { receiveProtocol: async () => (await real()).receiveProtocol!() } : {}),
  };
}
