import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/orchestrator.js';
import type { OrchestratorClient } from './generated/ferry/v1/Orchestrator.js';
import { LOADER_OPTIONS } from './proto.js';

export const ORCHESTRATOR_SERVICE = 'ferry.v1.Orchestrator';

let loaded: ProtoGrpcType | null = null;

/** ferry.v1.Orchestrator and grpc.health.v1.Health, loaded once per process. */
export function orchestratorPackage(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(protoLoader.loadSync(['ferry/v1/orchestrator.proto', 'grpc/health/v1/health.proto'], LOADER_OPTIONS)) as unknown as ProtoGrpcType;
  return loaded;
}

export function newOrchestratorClient(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()): OrchestratorClient {
  return new (orchestratorPackage().ferry.v1.Orchestrator)(address, credentials);
}
