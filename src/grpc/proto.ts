import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as EndpointProto } from './generated/endpoint.js';
import type { EndpointClient } from './generated/ferry/v1/Endpoint.js';
import type { ProtoGrpcType as HealthProto } from './generated/health.js';
import type { HealthClient } from './generated/grpc/health/v1/Health.js';

/** proto/ at the repository root (this file is src/api/proto.ts) */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_ROOT],
};

/**
 * Message and service types are generated from proto/ by `npm run proto:gen`
 * (scripts/gen-proto-types.mjs) into ./generated/, with the decoding options above: import a
 * message's `X__Output` for what is received (camelCase, absent fields undefined, int64 as number)
 * and `X` for what is sent. test/proto-types.test.ts fails when they are out of date.
 */
export type { EndpointClient, EndpointHandlers } from './generated/ferry/v1/Endpoint.js';
export type { HealthClient, HealthHandlers } from './generated/grpc/health/v1/Health.js';

export const ENDPOINT_SERVICE = 'ferry.v1.Endpoint';

/** What grpc.loadPackageDefinition makes of the loaded protos. */
type Packages = EndpointProto & HealthProto;

interface Loaded {
  endpoint: Packages['ferry']['v1']['Endpoint'];
  health: Packages['grpc']['health']['v1']['Health'];
}

let loaded: Loaded | null = null;

/** Loads both protos once per process. */
export function services(): Loaded {
  if (loaded) return loaded;
  const def = protoLoader.loadSync(['ferry/v1/endpoint.proto', 'grpc/health/v1/health.proto'], LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as Packages;
  loaded = { endpoint: pkg.ferry.v1.Endpoint, health: pkg.grpc.health.v1.Health };
  return loaded;
}

export function newEndpointClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ChannelOptions): EndpointClient {
  const Client = services().endpoint;
  return new Client(address, credentials, options);
}

export function newHealthClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ChannelOptions): HealthClient {
  const Client = services().health;
  return new Client(address, credentials, options);
}
