import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AcknowledgeRequest as _ferry_v1_AcknowledgeRequest, AcknowledgeRequest__Output as _ferry_v1_AcknowledgeRequest__Output } from './ferry/v1/AcknowledgeRequest.js';
import type { AcknowledgeResponse as _ferry_v1_AcknowledgeResponse, AcknowledgeResponse__Output as _ferry_v1_AcknowledgeResponse__Output } from './ferry/v1/AcknowledgeResponse.js';
import type { DescribeReceiverRequest as _ferry_v1_DescribeReceiverRequest, DescribeReceiverRequest__Output as _ferry_v1_DescribeReceiverRequest__Output } from './ferry/v1/DescribeReceiverRequest.js';
import type { DescribeReceiverResponse as _ferry_v1_DescribeReceiverResponse, DescribeReceiverResponse__Output as _ferry_v1_DescribeReceiverResponse__Output } from './ferry/v1/DescribeReceiverResponse.js';
import type { DestroySnapshotRequest as _ferry_v1_DestroySnapshotRequest, DestroySnapshotRequest__Output as _ferry_v1_DestroySnapshotRequest__Output } from './ferry/v1/DestroySnapshotRequest.js';
import type { DestroySnapshotResponse as _ferry_v1_DestroySnapshotResponse, DestroySnapshotResponse__Output as _ferry_v1_DestroySnapshotResponse__Output } from './ferry/v1/DestroySnapshotResponse.js';
import type { EndpointClient as _ferry_v1_EndpointClient, EndpointDefinition as _ferry_v1_EndpointDefinition } from './ferry/v1/Endpoint.js';
import type { EndpointGetPartitionRequest as _ferry_v1_EndpointGetPartitionRequest, EndpointGetPartitionRequest__Output as _ferry_v1_EndpointGetPartitionRequest__Output } from './ferry/v1/EndpointGetPartitionRequest.js';
import type { EndpointGetPartitionResponse as _ferry_v1_EndpointGetPartitionResponse, EndpointGetPartitionResponse__Output as _ferry_v1_EndpointGetPartitionResponse__Output } from './ferry/v1/EndpointGetPartitionResponse.js';
import type { EndpointListPartitionsRequest as _ferry_v1_EndpointListPartitionsRequest, EndpointListPartitionsRequest__Output as _ferry_v1_EndpointListPartitionsRequest__Output } from './ferry/v1/EndpointListPartitionsRequest.js';
import type { EndpointListPartitionsResponse as _ferry_v1_EndpointListPartitionsResponse, EndpointListPartitionsResponse__Output as _ferry_v1_EndpointListPartitionsResponse__Output } from './ferry/v1/EndpointListPartitionsResponse.js';
import type { ListFilesystemsRequest as _ferry_v1_ListFilesystemsRequest, ListFilesystemsRequest__Output as _ferry_v1_ListFilesystemsRequest__Output } from './ferry/v1/ListFilesystemsRequest.js';
import type { ListFilesystemsResponse as _ferry_v1_ListFilesystemsResponse, ListFilesystemsResponse__Output as _ferry_v1_ListFilesystemsResponse__Output } from './ferry/v1/ListFilesystemsResponse.js';
import type { ListVersionsRequest as _ferry_v1_ListVersionsRequest, ListVersionsRequest__Output as _ferry_v1_ListVersionsRequest__Output } from './ferry/v1/ListVersionsRequest.js';
import type { ListVersionsResponse as _ferry_v1_ListVersionsResponse, ListVersionsResponse__Output as _ferry_v1_ListVersionsResponse__Output } from './ferry/v1/ListVersionsResponse.js';
import type { PartitionState as _ferry_v1_PartitionState, PartitionState__Output as _ferry_v1_PartitionState__Output } from './ferry/v1/PartitionState.js';
import type { PruneRequest as _ferry_v1_PruneRequest, PruneRequest__Output as _ferry_v1_PruneRequest__Output } from './ferry/v1/PruneRequest.js';
import type { PruneResponse as _ferry_v1_PruneResponse, PruneResponse__Output as _ferry_v1_PruneResponse__Output } from './ferry/v1/PruneResponse.js';
import type { ReadEntryHeader as _ferry_v1_ReadEntryHeader, ReadEntryHeader__Output as _ferry_v1_ReadEntryHeader__Output } from './ferry/v1/ReadEntryHeader.js';
import type { ReadEntryRequest as _ferry_v1_ReadEntryRequest, ReadEntryRequest__Output as _ferry_v1_ReadEntryRequest__Output } from './ferry/v1/ReadEntryRequest.js';
import type { ReadEntryResponse as _ferry_v1_ReadEntryResponse, ReadEntryResponse__Output as _ferry_v1_ReadEntryResponse__Output } from './ferry/v1/ReadEntryResponse.js';
import type { ReceiveHeader as _ferry_v1_ReceiveHeader, ReceiveHeader__Output as _ferry_v1_ReceiveHeader__Output } from './ferry/v1/ReceiveHeader.js';
import type { ReceiveRequest as _ferry_v1_ReceiveRequest, ReceiveRequest__Output as _ferry_v1_ReceiveRequest__Output } from './ferry/v1/ReceiveRequest.js';
import type { ReceiveResponse as _ferry_v1_ReceiveResponse, ReceiveResponse__Output as _ferry_v1_ReceiveResponse__Output } from './ferry/v1/ReceiveResponse.js';
import type { ResumeTokenRequest as _ferry_v1_ResumeTokenRequest, ResumeTokenRequest__Output as _ferry_v1_ResumeTokenRequest__Output } from './ferry/v1/ResumeTokenRequest.js';
import type { ResumeTokenResponse as _ferry_v1_ResumeTokenResponse, ResumeTokenResponse__Output as _ferry_v1_ResumeTokenResponse__Output } from './ferry/v1/ResumeTokenResponse.js';
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
      AcknowledgeRequest: MessageTypeDefinition<_ferry_v1_AcknowledgeRequest, _ferry_v1_AcknowledgeRequest__Output>
      AcknowledgeResponse: MessageTypeDefinition<_ferry_v1_AcknowledgeResponse, _ferry_v1_AcknowledgeResponse__Output>
      DescribeReceiverRequest: MessageTypeDefinition<_ferry_v1_DescribeReceiverRequest, _ferry_v1_DescribeReceiverRequest__Output>
      DescribeReceiverResponse: MessageTypeDefinition<_ferry_v1_DescribeReceiverResponse, _ferry_v1_DescribeReceiverResponse__Output>
      DestroySnapshotRequest: MessageTypeDefinition<_ferry_v1_DestroySnapshotRequest, _ferry_v1_DestroySnapshotRequest__Output>
      DestroySnapshotResponse: MessageTypeDefinition<_ferry_v1_DestroySnapshotResponse, _ferry_v1_DestroySnapshotResponse__Output>
      Endpoint: SubtypeConstructor<typeof grpc.Client, _ferry_v1_EndpointClient> & { service: _ferry_v1_EndpointDefinition }
      EndpointGetPartitionRequest: MessageTypeDefinition<_ferry_v1_EndpointGetPartitionRequest, _ferry_v1_EndpointGetPartitionRequest__Output>
      EndpointGetPartitionResponse: MessageTypeDefinition<_ferry_v1_EndpointGetPartitionResponse, _ferry_v1_EndpointGetPartitionResponse__Output>
      EndpointListPartitionsRequest: MessageTypeDefinition<_ferry_v1_EndpointListPartitionsRequest, _ferry_v1_EndpointListPartitionsRequest__Output>
      EndpointListPartitionsResponse: MessageTypeDefinition<_ferry_v1_EndpointListPartitionsResponse, _ferry_v1_EndpointListPartitionsResponse__Output>
      ListFilesystemsRequest: MessageTypeDefinition<_ferry_v1_ListFilesystemsRequest, _ferry_v1_ListFilesystemsRequest__Output>
      ListFilesystemsResponse: MessageTypeDefinition<_ferry_v1_ListFilesystemsResponse, _ferry_v1_ListFilesystemsResponse__Output>
      ListVersionsRequest: MessageTypeDefinition<_ferry_v1_ListVersionsRequest, _ferry_v1_ListVersionsRequest__Output>
      ListVersionsResponse: MessageTypeDefinition<_ferry_v1_ListVersionsResponse, _ferry_v1_ListVersionsResponse__Output>
      PartitionState: MessageTypeDefinition<_ferry_v1_PartitionState, _ferry_v1_PartitionState__Output>
      PruneRequest: MessageTypeDefinition<_ferry_v1_PruneRequest, _ferry_v1_PruneRequest__Output>
      PruneResponse: MessageTypeDefinition<_ferry_v1_PruneResponse, _ferry_v1_PruneResponse__Output>
      ReadEntryHeader: MessageTypeDefinition<_ferry_v1_ReadEntryHeader, _ferry_v1_ReadEntryHeader__Output>
      ReadEntryRequest: MessageTypeDefinition<_ferry_v1_ReadEntryRequest, _ferry_v1_ReadEntryRequest__Output>
      ReadEntryResponse: MessageTypeDefinition<_ferry_v1_ReadEntryResponse, _ferry_v1_ReadEntryResponse__Output>
      ReceiveHeader: MessageTypeDefinition<_ferry_v1_ReceiveHeader, _ferry_v1_ReceiveHeader__Output>
      ReceiveRequest: MessageTypeDefinition<_ferry_v1_ReceiveRequest, _ferry_v1_ReceiveRequest__Output>
      ReceiveResponse: MessageTypeDefinition<_ferry_v1_ReceiveResponse, _ferry_v1_ReceiveResponse__Output>
      ResumeTokenRequest: MessageTypeDefinition<_ferry_v1_ResumeTokenRequest, _ferry_v1_ResumeTokenRequest__Output>
      ResumeTokenResponse: MessageTypeDefinition<_ferry_v1_ResumeTokenResponse, _ferry_v1_ResumeTokenResponse__Output>
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

