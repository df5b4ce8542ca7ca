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

let loaded: grpc.GrpcObject | null = null;

/**
 * Every .proto of the API loaded together, once per process: message names are unique across
 * proto/ (buf lint and test/proto-compat.test.ts check it), so they share one root.
 */
function load(): grpc.GrpcObject {
  return (loaded ??= grpc.loadPackageDefinition(protoLoader.loadSync(Object.values(SERVICES).map((s) => s.file), LOADER_OPTIONS)));
}

/** The full name of a service kind (ferry.v1.Endpoint). */
export function serviceName(kind: ServiceKind): string {
  return SERVICES[kind].name;
}

/** The .proto file of a service kind, relative to PROTO_ROOT. */
export function protoFileOf(kind: ServiceKind): string {
  return SERVICES[kind].file;
}

/** The service's client constructor (with its `service` definition). */
function constructor<K extends ServiceKind>(kind: K): Constructors[K] {
  let node: unknown = load();
  for (const part of SERVICES[kind].name.split('.')) node = (node as Record<string, unknown>)[part];
  return node as Constructors[K];
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
