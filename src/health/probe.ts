import * as grpc from '@grpc/grpc-js';
import { TemporaryError } from '../errors/index.js';
import { ENDPOINT_SERVICE, newHealthClient } from '../grpc/proto.js';
import type { HealthCheckResponse__Output as HealthCheckResponse } from '../grpc/generated/grpc/health/v1/HealthCheckResponse.js';
import { channelCredentials, clientTlsFromEnv } from '../grpc/tls.js';
import { fromStatus } from '../grpc/status.js';

/**
 * One `grpc.health.v1.Health/Check` of `service` (the Endpoint service unless told; "" asks about
 * the server as a whole) of the agent at `target` (host:port),
 * with a deadline. Resolves when it answers SERVING; otherwise throws a TemporaryError saying why
 * (no connection, no answer in time, NOT_SERVING). Each probe dials on a channel of its own, closed
 * afterwards: a shared channel would answer from grpc-js's reconnect backoff, not from the agent.
 */
export async function probeTarget(target: string, timeoutMs: number, service = ENDPOINT_SERVICE): Promise<void> {
  // a TLS agent's target is grpcs://host:port (see targetOf), probed with the client's TLS files
  const tls = target.startsWith('grpcs://');
  const address = tls ? target.slice('grpcs://'.length) : target;
  const client = newHealthClient(address, channelCredentials({ tls, ...(tls ? clientTlsFromEnv() : {}) }), { 'grpc.use_local_subchannel_pool': 1 });
  const where = `health check of ${target}`;
  try {
    const res = await new Promise<HealthCheckResponse>((resolve, reject) => {
      client.check({ service }, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, r) => (err ? reject(fromStatus(err, where, { target, tls })) : resolve(r ?? {})));
    });
    if (res.status !== 'SERVING') throw new TemporaryError(`${where}: the agent answers ${res.status ?? 'UNKNOWN'}`, { code: 'NOT_SERVING', details: { target } });
  } finally {
    client.close();
  }
}
