import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as EndpointProto } from './generated/endpoint.js';
import type { ProtoGrpcType as HealthProto } from './generated/health.js';
import type { ProtoGrpcType as OrchestratorProto } from './generated/orchestrator.js';
import type { EndpointClient } from './generated/ferry/v1/Endpoint.js';
import type { HealthClient } from './generated/grpc/health/v1/Health.js';
import type { OrchestratorClient } from './generated/ferry/v1/Orchestrator.js';

/** proto/ at the repository root (this file is src/grpc/proto.ts) */
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
export type { OrchestratorClient, OrchestratorHandlers } from './generated/ferry/v1/Orchestrator.js';

/** The client constructor (with its `service` definition) that grpc.loadPackageDefinition makes of each service. */
interface Constructors {
  endpoint: EndpointProto['ferry']['v1']['Endpoint'];
  orchestrator: OrchestratorProto['ferry']['v1']['Orchestrator'];
  health: HealthProto['grpc']['health']['v1']['Health'];
}
export type ServiceKind = keyof Constructors;

/** Each service's .proto and full name (the name is also what grpc.health.v1.Health/Check takes). */
const SERVICES: Record<ServiceKind, { file: string; name: string }> = {
  endpoint: { file: 'ferry/v1/endpoint.proto', name: 'ferry.v1.Endpoint' },
  orchestrator: { file: 'ferry/v1/orchestrator.proto', name: 'ferry.v1.Orchestrator' },
  health: { file: 'grpc/health/v1/health.proto', name: 'grpc.health.v1.Health' },
};

export const ENDPOINT_SERVICE = SERVICES.endpoint.name;
export const ORCHESTRATOR_SERVICE = SERVICES.orchestrator.name;

const loaded: Partial<Constructors> = {};

/**
 * The service's client constructor, its .proto loaded on first use and kept for the process. Each
 * file is loaded on its own: endpoint.proto and orchestrator.proto both declare messages of
 * ferry.v1 (GetPartitionRequest), which one protobuf root rejects as duplicates; and a process
 * loads only what it serves or calls (the CLI with --server never parses endpoint.proto).
 */
function constructor<K extends ServiceKind>(kind: K): Constructors[K] {
  const cached = loaded[kind];
  if (cached) return cached;
  const { file, name } = SERVICES[kind];
  let node: unknown = grpc.loadPackageDefinition(protoLoader.loadSync(file, LOADER_OPTIONS));
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  return (loaded[kind] = node as Constructors[K]);
}

/** What server.addService takes for the service. */
export function serviceDefinition<K extends ServiceKind>(kind: K): Constructors[K]['service'] {
  return constructor(kind).service;
}

export function newEndpointClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ChannelOptions): EndpointClient {
  return new (constructor('endpoint'))(address, credentials, options);
}

export function newHealthClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ChannelOptions): HealthClient {
  return new (constructor('health'))(address, credentials, options);
}

export function newOrchestratorClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ChannelOptions): OrchestratorClient {
  return new (constructor('orchestrator'))(address, credentials, options);
}
