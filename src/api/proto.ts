import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the repository root (this file is src/api/proto.ts) */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_ROOT],
};

/** Messages of ferry.v1.Endpoint as @grpc/proto-loader decodes them (camelCase, absent fields undefined). */
export interface VersionMsg { name?: string; guid?: string; createtxg?: number; creation?: string }
export interface ListFilesystemsRequest { endpoint?: string }
export interface ListFilesystemsResponse { filesystems?: string[] }
export interface ListVersionsRequest { endpoint?: string; filesystem?: string }
export interface ListVersionsResponse { versions?: VersionMsg[] }
export interface SnapshotRequest { endpoint?: string; filesystems?: string[]; name?: string }
export interface SnapshotResponse { versions?: VersionMsg[] }
export interface SendRequest { endpoint?: string; filesystem?: string; from?: VersionMsg | null; to?: VersionMsg | null; intermediates?: boolean }
export interface SendResponse { header?: { sizeEstimate?: { bytes?: number } | null } | null; chunk?: Buffer; message?: 'header' | 'chunk' }
export interface ReceiveRequest { header?: { endpoint?: string; filesystem?: string } | null; chunk?: Buffer; message?: 'header' | 'chunk' }
export interface ReceiveResponse { version?: VersionMsg | null }
export interface HealthCheckRequest { service?: string }
export interface HealthCheckResponse { status?: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' }

export const ENDPOINT_SERVICE = 'ferry.v1.Endpoint';

type Unary<Req, Res> = (req: Req, metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;

/** A client of ferry.v1.Endpoint (the generic grpc-js client with the methods typed). */
export interface EndpointClient extends grpc.Client {
  listFilesystems: Unary<ListFilesystemsRequest, ListFilesystemsResponse>;
  listVersions: Unary<ListVersionsRequest, ListVersionsResponse>;
  snapshot: Unary<SnapshotRequest, SnapshotResponse>;
  send(req: SendRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<SendResponse>;
  receive(metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: ReceiveResponse) => void): grpc.ClientWritableStream<ReceiveRequest>;
}

export interface HealthClient extends grpc.Client {
  check: Unary<HealthCheckRequest, HealthCheckResponse>;
}

interface Loaded {
  endpoint: grpc.ServiceClientConstructor;
  health: grpc.ServiceClientConstructor;
}

let loaded: Loaded | null = null;

/** Loads both protos once per process. */
export function services(): Loaded {
  if (loaded) return loaded;
  const def = protoLoader.loadSync(['ferry/v1/endpoint.proto', 'grpc/health/v1/health.proto'], LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    ferry: { v1: { Endpoint: grpc.ServiceClientConstructor } };
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  loaded = { endpoint: pkg.ferry.v1.Endpoint, health: pkg.grpc.health.v1.Health };
  return loaded;
}

export function newEndpointClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ChannelOptions): EndpointClient {
  const Client = services().endpoint;
  return new Client(address, credentials, options) as unknown as EndpointClient;
}

export function newHealthClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ChannelOptions): HealthClient {
  const Client = services().health;
  return new Client(address, credentials, options) as unknown as HealthClient;
}
