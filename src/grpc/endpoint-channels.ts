import { newEndpointClient, type EndpointClient } from './proto.js';
import { KEEPALIVE_OPTIONS } from './progress.js';
import { channelCredentials, clientTlsFromEnv } from './tls.js';

/**
 * One channel per agent address, scheme and TLS files per process: drivers and log sources are
 * opened per step, connections are kept. TLS files are read when the channel is made (a renewed
 * certificate is used by processes started after it, or by a channel for other file names).
 */
const clients = new Map<string, EndpointClient>();

/**
 * Each channel has its own subchannel (not grpc-js's process-wide pool), so a channel dropped by
 * `forgetClient` takes its reconnect backoff with it and health probes do not share it. Keepalive
 * pings during calls find a connection whose agent vanished (see KEEPALIVE_OPTIONS).
 */
const CHANNEL_OPTIONS = { 'grpc.use_local_subchannel_pool': 1, ...KEEPALIVE_OPTIONS };

function channelKey(address: string, tls: boolean, files: { caFile?: string; certFile?: string; keyFile?: string }): string {
  return JSON.stringify([tls ? 'grpcs' : 'grpc', address, files.caFile, files.certFile, files.keyFile]);
}

/** The Endpoint client of the agent at `address` (TLS files from FERRY_TLS_*): one per process, shared by remote drivers and log sources. */
export function clientFor(address: string, tls = false): EndpointClient {
  const files = tls ? clientTlsFromEnv() : {};
  const key = channelKey(address, tls, files);
  let c = clients.get(key);
  if (!c) {
    c = newEndpointClient(address, channelCredentials({ tls, ...files }), CHANNEL_OPTIONS);
    clients.set(key, c);
  }
  return c;
}

/**
 * Drops a channel that could not reach its agent: grpc-js fails calls at once while it waits to
 * reconnect (a wait that grows to 2 minutes), which would fail the first steps after the agent is
 * back; the next call dials afresh instead. Calls still running on it finish (close lets them).
 * Only the channel that saw the error is dropped, not a newer one.
 */
export function forgetClient(failed: EndpointClient): void {
  for (const [key, c] of clients) {
    if (c !== failed) continue;
    clients.delete(key);
    failed.close();
  }
}

/** Closes every cached channel (tests; a process exits fine without it, idle channels hold no handle). */
export function closeRemoteClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}
