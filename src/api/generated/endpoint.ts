import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { EndpointClient as _ferry_v1_EndpointClient, EndpointDefinition as _ferry_v1_EndpointDefinition } from './ferry/v1/Endpoint.js';
import type { ListFilesystemsRequest as _ferry_v1_ListFilesystemsRequest, ListFilesystemsRequest__Output as _ferry_v1_ListFilesystemsRequest__Output } from './ferry/v1/ListFilesystemsRequest.js';
import type { ListFilesystemsResponse as _ferry_v1_ListFilesystemsResponse, ListFilesystemsResponse__Output as _ferry_v1_ListFilesystemsResponse__Output } from './ferry/v1/ListFilesystemsResponse.js';
import type { ListVersionsRequest as _ferry_v1_ListVersionsRequest, ListVersionsRequest__Output as _ferry_v1_ListVersionsRequest__Output } from './ferry/v1/ListVersionsRequest.js';
import type { ListVersionsResponse as _ferry_v1_ListVersionsResponse, ListVersionsResponse__Output as _ferry_v1_ListVersionsResponse__Output } from './ferry/v1/ListVersionsResponse.js';
import type { ReceiveHeader as _ferry_v1_ReceiveHeader, ReceiveHeader__Output as _ferry_v1_ReceiveHeader__Output } from './ferry/v1/ReceiveHeader.js';
import type { ReceiveRequest as _ferry_v1_ReceiveRequest, ReceiveRequest__Output as _ferry_v1_ReceiveRequest__Output } from './ferry/v1/ReceiveRequest.js';
import type { ReceiveResponse as _ferry_v1_ReceiveResponse, ReceiveResponse__Output as _ferry_v1_ReceiveResponse__Output } from './ferry/v1/ReceiveResponse.js';
import type { SendHeader as _ferry_v1_SendHeader, SendHeader__Output as _ferry_v1_SendHeader__Output } from './ferry/v1/SendHeader.js';
import type { SendRequest as _ferry_v1_SendRequest, SendRequest__Output as _ferry_v1_SendRequest__Output } from './ferry/v1/SendRequest.js';
import type { SendResponse as _ferry_v1_SendResponse, SendResponse__Output as _ferry_v1_SendResponse__Output } from './ferry/v1/SendResponse.js';
import type { SizeEstimate as _ferry_v1_SizeEstimate, SizeEstimate__Output as _ferry_v1_SizeEstimate__Output } from './ferry/v1/SizeEstimate.js';
import type { SnapshotRequest as _ferry_v1_SnapshotRequest, SnapshotRequest__Output as _ferry_v1_SnapshotRequest__Output } from './ferry/v1/SnapshotRequest.js';
import type { SnapshotResponse as _ferry_v1_SnapshotResponse, SnapshotResponse__Output as _ferry_v1_SnapshotResponse__Output } from './ferry/v1/SnapshotResponse.js';
import type { Version as _ferry_v1_Version, Version__Output as _ferry_v1_Version__Output } from './ferry/v1/Version.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ferry: {
    v1: {
      Endpoint: SubtypeConstructor<typeof grpc.Client, _ferry_v1_EndpointClient> & { service: _ferry_v1_EndpointDefinition }
      ListFilesystemsRequest: MessageTypeDefinition<_ferry_v1_ListFilesystemsRequest, _ferry_v1_ListFilesystemsRequest__Output>
      ListFilesystemsResponse: MessageTypeDefinition<_ferry_v1_ListFilesystemsResponse, _ferry_v1_ListFilesystemsResponse__Output>
      ListVersionsRequest: MessageTypeDefinition<_ferry_v1_ListVersionsRequest, _ferry_v1_ListVersionsRequest__Output>
      ListVersionsResponse: MessageTypeDefinition<_ferry_v1_ListVersionsResponse, _ferry_v1_ListVersionsResponse__Output>
      ReceiveHeader: MessageTypeDefinition<_ferry_v1_ReceiveHeader, _ferry_v1_ReceiveHeader__Output>
      ReceiveRequest: MessageTypeDefinition<_ferry_v1_ReceiveRequest, _ferry_v1_ReceiveRequest__Output>
      ReceiveResponse: MessageTypeDefinition<_ferry_v1_ReceiveResponse, _ferry_v1_ReceiveResponse__Output>
      SendHeader: MessageTypeDefinition<_ferry_v1_SendHeader, _ferry_v1_SendHeader__Output>
      SendRequest: MessageTypeDefinition<_ferry_v1_SendRequest, _ferry_v1_SendRequest__Output>
      SendResponse: MessageTypeDefinition<_ferry_v1_SendResponse, _ferry_v1_SendResponse__Output>
      SizeEstimate: MessageTypeDefinition<_ferry_v1_SizeEstimate, _ferry_v1_SizeEstimate__Output>
      SnapshotRequest: MessageTypeDefinition<_ferry_v1_SnapshotRequest, _ferry_v1_SnapshotRequest__Output>
      SnapshotResponse: MessageTypeDefinition<_ferry_v1_SnapshotResponse, _ferry_v1_SnapshotResponse__Output>
      Version: MessageTypeDefinition<_ferry_v1_Version, _ferry_v1_Version__Output>
    }
  }
}

