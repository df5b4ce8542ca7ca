// Original file: proto/ferry/v1/endpoint.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AcknowledgeRequest as _ferry_v1_AcknowledgeRequest, AcknowledgeRequest__Output as _ferry_v1_AcknowledgeRequest__Output } from '../../ferry/v1/AcknowledgeRequest.js';
import type { AcknowledgeResponse as _ferry_v1_AcknowledgeResponse, AcknowledgeResponse__Output as _ferry_v1_AcknowledgeResponse__Output } from '../../ferry/v1/AcknowledgeResponse.js';
import type { DescribeReceiverRequest as _ferry_v1_DescribeReceiverRequest, DescribeReceiverRequest__Output as _ferry_v1_DescribeReceiverRequest__Output } from '../../ferry/v1/DescribeReceiverRequest.js';
import type { DescribeReceiverResponse as _ferry_v1_DescribeReceiverResponse, DescribeReceiverResponse__Output as _ferry_v1_DescribeReceiverResponse__Output } from '../../ferry/v1/DescribeReceiverResponse.js';
import type { DestroySnapshotRequest as _ferry_v1_DestroySnapshotRequest, DestroySnapshotRequest__Output as _ferry_v1_DestroySnapshotRequest__Output } from '../../ferry/v1/DestroySnapshotRequest.js';
import type { DestroySnapshotResponse as _ferry_v1_DestroySnapshotResponse, DestroySnapshotResponse__Output as _ferry_v1_DestroySnapshotResponse__Output } from '../../ferry/v1/DestroySnapshotResponse.js';
import type { EndpointGetPartitionRequest as _ferry_v1_EndpointGetPartitionRequest, EndpointGetPartitionRequest__Output as _ferry_v1_EndpointGetPartitionRequest__Output } from '../../ferry/v1/EndpointGetPartitionRequest.js';
import type { EndpointGetPartitionResponse as _ferry_v1_EndpointGetPartitionResponse, EndpointGetPartitionResponse__Output as _ferry_v1_EndpointGetPartitionResponse__Output } from '../../ferry/v1/EndpointGetPartitionResponse.js';
import type { EndpointListPartitionsRequest as _ferry_v1_EndpointListPartitionsRequest, EndpointListPartitionsRequest__Output as _ferry_v1_EndpointListPartitionsRequest__Output } from '../../ferry/v1/EndpointListPartitionsRequest.js';
import type { EndpointListPartitionsResponse as _ferry_v1_EndpointListPartitionsResponse, EndpointListPartitionsResponse__Output as _ferry_v1_EndpointListPartitionsResponse__Output } from '../../ferry/v1/EndpointListPartitionsResponse.js';
import type { ListFilesystemsRequest as _ferry_v1_ListFilesystemsRequest, ListFilesystemsRequest__Output as _ferry_v1_ListFilesystemsRequest__Output } from '../../ferry/v1/ListFilesystemsRequest.js';
import type { ListFilesystemsResponse as _ferry_v1_ListFilesystemsResponse, ListFilesystemsResponse__Output as _ferry_v1_ListFilesystemsResponse__Output } from '../../ferry/v1/ListFilesystemsResponse.js';
import type { ListVersionsRequest as _ferry_v1_ListVersionsRequest, ListVersionsRequest__Output as _ferry_v1_ListVersionsRequest__Output } from '../../ferry/v1/ListVersionsRequest.js';
import type { ListVersionsResponse as _ferry_v1_ListVersionsResponse, ListVersionsResponse__Output as _ferry_v1_ListVersionsResponse__Output } from '../../ferry/v1/ListVersionsResponse.js';
import type { PruneRequest as _ferry_v1_PruneRequest, PruneRequest__Output as _ferry_v1_PruneRequest__Output } from '../../ferry/v1/PruneRequest.js';
import type { PruneResponse as _ferry_v1_PruneResponse, PruneResponse__Output as _ferry_v1_PruneResponse__Output } from '../../ferry/v1/PruneResponse.js';
import type { ReadEntryRequest as _ferry_v1_ReadEntryRequest, ReadEntryRequest__Output as _ferry_v1_ReadEntryRequest__Output } from '../../ferry/v1/ReadEntryRequest.js';
import type { ReadEntryResponse as _ferry_v1_ReadEntryResponse, ReadEntryResponse__Output as _ferry_v1_ReadEntryResponse__Output } from '../../ferry/v1/ReadEntryResponse.js';
import type { ReceiveRequest as _ferry_v1_ReceiveRequest, ReceiveRequest__Output as _ferry_v1_ReceiveRequest__Output } from '../../ferry/v1/ReceiveRequest.js';
import type { ReceiveResponse as _ferry_v1_ReceiveResponse, ReceiveResponse__Output as _ferry_v1_ReceiveResponse__Output } from '../../ferry/v1/ReceiveResponse.js';
import type { ResumeTokenRequest as _ferry_v1_ResumeTokenRequest, ResumeTokenRequest__Output as _ferry_v1_ResumeTokenRequest__Output } from '../../ferry/v1/ResumeTokenRequest.js';
import type { ResumeTokenResponse as _ferry_v1_ResumeTokenResponse, ResumeTokenResponse__Output as _ferry_v1_ResumeTokenResponse__Output } from '../../ferry/v1/ResumeTokenResponse.js';
import type { SendRequest as _ferry_v1_SendRequest, SendRequest__Output as _ferry_v1_SendRequest__Output } from '../../ferry/v1/SendRequest.js';
import type { SendResponse as _ferry_v1_SendResponse, SendResponse__Output as _ferry_v1_SendResponse__Output } from '../../ferry/v1/SendResponse.js';
import type { SnapshotRequest as _ferry_v1_SnapshotRequest, SnapshotRequest__Output as _ferry_v1_SnapshotRequest__Output } from '../../ferry/v1/SnapshotRequest.js';
import type { SnapshotResponse as _ferry_v1_SnapshotResponse, SnapshotResponse__Output as _ferry_v1_SnapshotResponse__Output } from '../../ferry/v1/SnapshotResponse.js';

export interface EndpointClient extends grpc.Client {
  /**
   * moves a consumer's position to `lsn` (registering it when new); never backwards
   */
  Acknowledge(argument: _ferry_v1_AcknowledgeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  Acknowledge(argument: _ferry_v1_AcknowledgeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  Acknowledge(argument: _ferry_v1_AcknowledgeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  Acknowledge(argument: _ferry_v1_AcknowledgeRequest, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  /**
   * moves a consumer's position to `lsn` (registering it when new); never backwards
   */
  acknowledge(argument: _ferry_v1_AcknowledgeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  acknowledge(argument: _ferry_v1_AcknowledgeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  acknowledge(argument: _ferry_v1_AcknowledgeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  acknowledge(argument: _ferry_v1_AcknowledgeRequest, callback: grpc.requestCallback<_ferry_v1_AcknowledgeResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * what the endpoint's receiving tools read, for the sender of a step to choose its stream (added
   * after the first calls: an agent without it answers UNIMPLEMENTED, to be taken as all zeros)
   */
  DescribeReceiver(argument: _ferry_v1_DescribeReceiverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  DescribeReceiver(argument: _ferry_v1_DescribeReceiverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  DescribeReceiver(argument: _ferry_v1_DescribeReceiverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  DescribeReceiver(argument: _ferry_v1_DescribeReceiverRequest, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  /**
   * what the endpoint's receiving tools read, for the sender of a step to choose its stream (added
   * after the first calls: an agent without it answers UNIMPLEMENTED, to be taken as all zeros)
   */
  describeReceiver(argument: _ferry_v1_DescribeReceiverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  describeReceiver(argument: _ferry_v1_DescribeReceiverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  describeReceiver(argument: _ferry_v1_DescribeReceiverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  describeReceiver(argument: _ferry_v1_DescribeReceiverRequest, callback: grpc.requestCallback<_ferry_v1_DescribeReceiverResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * destroys the one snapshot `filesystem@name` (never the filesystem, never recursively);
   * FAILED_PRECONDITION SNAPSHOT_NOT_FOUND when there is none, or when the driver must keep it
   */
  DestroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  DestroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  DestroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  DestroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  /**
   * destroys the one snapshot `filesystem@name` (never the filesystem, never recursively);
   * FAILED_PRECONDITION SNAPSHOT_NOT_FOUND when there is none, or when the driver must keep it
   */
  destroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  destroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  destroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  destroySnapshot(argument: _ferry_v1_DestroySnapshotRequest, callback: grpc.requestCallback<_ferry_v1_DestroySnapshotResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * one partition's water marks and positions
   */
  GetPartition(argument: _ferry_v1_EndpointGetPartitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  GetPartition(argument: _ferry_v1_EndpointGetPartitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  GetPartition(argument: _ferry_v1_EndpointGetPartitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  GetPartition(argument: _ferry_v1_EndpointGetPartitionRequest, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * one partition's water marks and positions
   */
  getPartition(argument: _ferry_v1_EndpointGetPartitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  getPartition(argument: _ferry_v1_EndpointGetPartitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  getPartition(argument: _ferry_v1_EndpointGetPartitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  getPartition(argument: _ferry_v1_EndpointGetPartitionRequest, callback: grpc.requestCallback<_ferry_v1_EndpointGetPartitionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * child filesystems of the endpoint root, sorted
   */
  ListFilesystems(argument: _ferry_v1_ListFilesystemsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  ListFilesystems(argument: _ferry_v1_ListFilesystemsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  ListFilesystems(argument: _ferry_v1_ListFilesystemsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  ListFilesystems(argument: _ferry_v1_ListFilesystemsRequest, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * child filesystems of the endpoint root, sorted
   */
  listFilesystems(argument: _ferry_v1_ListFilesystemsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  listFilesystems(argument: _ferry_v1_ListFilesystemsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  listFilesystems(argument: _ferry_v1_ListFilesystemsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  listFilesystems(argument: _ferry_v1_ListFilesystemsRequest, callback: grpc.requestCallback<_ferry_v1_ListFilesystemsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * every partition of the log source with its water marks and consumer positions, sorted
   */
  ListPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  ListPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  ListPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  ListPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * every partition of the log source with its water marks and consumer positions, sorted
   */
  listPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  listPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  listPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  listPartitions(argument: _ferry_v1_EndpointListPartitionsRequest, callback: grpc.requestCallback<_ferry_v1_EndpointListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * versions of one filesystem, oldest first; none if it has none or does not exist
   */
  ListVersions(argument: _ferry_v1_ListVersionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  ListVersions(argument: _ferry_v1_ListVersionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  ListVersions(argument: _ferry_v1_ListVersionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  ListVersions(argument: _ferry_v1_ListVersionsRequest, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * versions of one filesystem, oldest first; none if it has none or does not exist
   */
  listVersions(argument: _ferry_v1_ListVersionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  listVersions(argument: _ferry_v1_ListVersionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  listVersions(argument: _ferry_v1_ListVersionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  listVersions(argument: _ferry_v1_ListVersionsRequest, callback: grpc.requestCallback<_ferry_v1_ListVersionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * removes the entries below the lowest position of every registered consumer
   */
  Prune(argument: _ferry_v1_PruneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  Prune(argument: _ferry_v1_PruneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  Prune(argument: _ferry_v1_PruneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  Prune(argument: _ferry_v1_PruneRequest, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  /**
   * removes the entries below the lowest position of every registered consumer
   */
  prune(argument: _ferry_v1_PruneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _ferry_v1_PruneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _ferry_v1_PruneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _ferry_v1_PruneRequest, callback: grpc.requestCallback<_ferry_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * the committed entry `lsn` as its deterministic tarball: first a header (size), then chunks
   */
  ReadEntry(argument: _ferry_v1_ReadEntryRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_ReadEntryResponse__Output>;
  ReadEntry(argument: _ferry_v1_ReadEntryRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_ReadEntryResponse__Output>;
  /**
   * the committed entry `lsn` as its deterministic tarball: first a header (size), then chunks
   */
  readEntry(argument: _ferry_v1_ReadEntryRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_ReadEntryResponse__Output>;
  readEntry(argument: _ferry_v1_ReadEntryRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_ReadEntryResponse__Output>;
  
  /**
   * applies a stream made by Send of an endpoint of the same kind: first a header, then chunks;
   * atomic (the version exists with all its data afterwards, or the receiver is as before)
   */
  Receive(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  Receive(metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  Receive(options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  Receive(callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  /**
   * applies a stream made by Send of an endpoint of the same kind: first a header, then chunks;
   * atomic (the version exists with all its data afterwards, or the receiver is as before)
   */
  receive(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  receive(metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  receive(options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  receive(callback: grpc.requestCallback<_ferry_v1_ReceiveResponse__Output>): grpc.ClientWritableStream<_ferry_v1_ReceiveRequest>;
  
  /**
   * OpenZFS: the receive_resume_token of an interrupted receive into `filesystem`, for Send's resume_token
   */
  ResumeToken(argument: _ferry_v1_ResumeTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  ResumeToken(argument: _ferry_v1_ResumeTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  ResumeToken(argument: _ferry_v1_ResumeTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  ResumeToken(argument: _ferry_v1_ResumeTokenRequest, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  /**
   * OpenZFS: the receive_resume_token of an interrupted receive into `filesystem`, for Send's resume_token
   */
  resumeToken(argument: _ferry_v1_ResumeTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  resumeToken(argument: _ferry_v1_ResumeTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  resumeToken(argument: _ferry_v1_ResumeTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  resumeToken(argument: _ferry_v1_ResumeTokenRequest, callback: grpc.requestCallback<_ferry_v1_ResumeTokenResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * a full (no `from`) or incremental stream carrying `to`: first a header (size estimate), then chunks
   */
  Send(argument: _ferry_v1_SendRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_SendResponse__Output>;
  Send(argument: _ferry_v1_SendRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_SendResponse__Output>;
  /**
   * a full (no `from`) or incremental stream carrying `to`: first a header (size estimate), then chunks
   */
  send(argument: _ferry_v1_SendRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_SendResponse__Output>;
  send(argument: _ferry_v1_SendRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_SendResponse__Output>;
  
  /**
   * a snapshot named `name` of each filesystem; the new versions in the same order
   */
  Snapshot(argument: _ferry_v1_SnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  Snapshot(argument: _ferry_v1_SnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  Snapshot(argument: _ferry_v1_SnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  Snapshot(argument: _ferry_v1_SnapshotRequest, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  /**
   * a snapshot named `name` of each filesystem; the new versions in the same order
   */
  snapshot(argument: _ferry_v1_SnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  snapshot(argument: _ferry_v1_SnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  snapshot(argument: _ferry_v1_SnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  snapshot(argument: _ferry_v1_SnapshotRequest, callback: grpc.requestCallback<_ferry_v1_SnapshotResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface EndpointHandlers extends grpc.UntypedServiceImplementation {
  /**
   * moves a consumer's position to `lsn` (registering it when new); never backwards
   */
  Acknowledge: grpc.handleUnaryCall<_ferry_v1_AcknowledgeRequest__Output, _ferry_v1_AcknowledgeResponse>;
  
  /**
   * what the endpoint's receiving tools read, for the sender of a step to choose its stream (added
   * after the first calls: an agent without it answers UNIMPLEMENTED, to be taken as all zeros)
   */
  DescribeReceiver: grpc.handleUnaryCall<_ferry_v1_DescribeReceiverRequest__Output, _ferry_v1_DescribeReceiverResponse>;
  
  /**
   * destroys the one snapshot `filesystem@name` (never the filesystem, never recursively);
   * FAILED_PRECONDITION SNAPSHOT_NOT_FOUND when there is none, or when the driver must keep it
   */
  DestroySnapshot: grpc.handleUnaryCall<_ferry_v1_DestroySnapshotRequest__Output, _ferry_v1_DestroySnapshotResponse>;
  
  /**
   * one partition's water marks and positions
   */
  GetPartition: grpc.handleUnaryCall<_ferry_v1_EndpointGetPartitionRequest__Output, _ferry_v1_EndpointGetPartitionResponse>;
  
  /**
   * child filesystems of the endpoint root, sorted
   */
  ListFilesystems: grpc.handleUnaryCall<_ferry_v1_ListFilesystemsRequest__Output, _ferry_v1_ListFilesystemsResponse>;
  
  /**
   * every partition of the log source with its water marks and consumer positions, sorted
   */
  ListPartitions: grpc.handleUnaryCall<_ferry_v1_EndpointListPartitionsRequest__Output, _ferry_v1_EndpointListPartitionsResponse>;
  
  /**
   * versions of one filesystem, oldest first; none if it has none or does not exist
   */
  ListVersions: grpc.handleUnaryCall<_ferry_v1_ListVersionsRequest__Output, _ferry_v1_ListVersionsResponse>;
  
  /**
   * removes the entries below the lowest position of every registered consumer
   */
  Prune: grpc.handleUnaryCall<_ferry_v1_PruneRequest__Output, _ferry_v1_PruneResponse>;
  
  /**
   * the committed entry `lsn` as its deterministic tarball: first a header (size), then chunks
   */
  ReadEntry: grpc.handleServerStreamingCall<_ferry_v1_ReadEntryRequest__Output, _ferry_v1_ReadEntryResponse>;
  
  /**
   * applies a stream made by Send of an endpoint of the same kind: first a header, then chunks;
   * atomic (the version exists with all its data afterwards, or the receiver is as before)
   */
  Receive: grpc.handleClientStreamingCall<_ferry_v1_ReceiveRequest__Output, _ferry_v1_ReceiveResponse>;
  
  /**
   * OpenZFS: the receive_resume_token of an interrupted receive into `filesystem`, for Send's resume_token
   */
  ResumeToken: grpc.handleUnaryCall<_ferry_v1_ResumeTokenRequest__Output, _ferry_v1_ResumeTokenResponse>;
  
  /**
   * a full (no `from`) or incremental stream carrying `to`: first a header (size estimate), then chunks
   */
  Send: grpc.handleServerStreamingCall<_ferry_v1_SendRequest__Output, _ferry_v1_SendResponse>;
  
  /**
   * a snapshot named `name` of each filesystem; the new versions in the same order
   */
  Snapshot: grpc.handleUnaryCall<_ferry_v1_SnapshotRequest__Output, _ferry_v1_SnapshotResponse>;
  
}

export interface EndpointDefinition extends grpc.ServiceDefinition {
  Acknowledge: MethodDefinition<_ferry_v1_AcknowledgeRequest, _ferry_v1_AcknowledgeResponse, _ferry_v1_AcknowledgeRequest__Output, _ferry_v1_AcknowledgeResponse__Output>
  DescribeReceiver: MethodDefinition<_ferry_v1_DescribeReceiverRequest, _ferry_v1_DescribeReceiverResponse, _ferry_v1_DescribeReceiverRequest__Output, _ferry_v1_DescribeReceiverResponse__Output>
  DestroySnapshot: MethodDefinition<_ferry_v1_DestroySnapshotRequest, _ferry_v1_DestroySnapshotResponse, _ferry_v1_DestroySnapshotRequest__Output, _ferry_v1_DestroySnapshotResponse__Output>
  GetPartition: MethodDefinition<_ferry_v1_EndpointGetPartitionRequest, _ferry_v1_EndpointGetPartitionResponse, _ferry_v1_EndpointGetPartitionRequest__Output, _ferry_v1_EndpointGetPartitionResponse__Output>
  ListFilesystems: MethodDefinition<_ferry_v1_ListFilesystemsRequest, _ferry_v1_ListFilesystemsResponse, _ferry_v1_ListFilesystemsRequest__Output, _ferry_v1_ListFilesystemsResponse__Output>
  ListPartitions: MethodDefinition<_ferry_v1_EndpointListPartitionsRequest, _ferry_v1_EndpointListPartitionsResponse, _ferry_v1_EndpointListPartitionsRequest__Output, _ferry_v1_EndpointListPartitionsResponse__Output>
  ListVersions: MethodDefinition<_ferry_v1_ListVersionsRequest, _ferry_v1_ListVersionsResponse, _ferry_v1_ListVersionsRequest__Output, _ferry_v1_ListVersionsResponse__Output>
  Prune: MethodDefinition<_ferry_v1_PruneRequest, _ferry_v1_PruneResponse, _ferry_v1_PruneRequest__Output, _ferry_v1_PruneResponse__Output>
  ReadEntry: MethodDefinition<_ferry_v1_ReadEntryRequest, _ferry_v1_ReadEntryResponse, _ferry_v1_ReadEntryRequest__Output, _ferry_v1_ReadEntryResponse__Output>
  Receive: MethodDefinition<_ferry_v1_ReceiveRequest, _ferry_v1_ReceiveResponse, _ferry_v1_ReceiveRequest__Output, _ferry_v1_ReceiveResponse__Output>
  ResumeToken: MethodDefinition<_ferry_v1_ResumeTokenRequest, _ferry_v1_ResumeTokenResponse, _ferry_v1_ResumeTokenRequest__Output, _ferry_v1_ResumeTokenResponse__Output>
  Send: MethodDefinition<_ferry_v1_SendRequest, _ferry_v1_SendResponse, _ferry_v1_SendRequest__Output, _ferry_v1_SendResponse__Output>
  Snapshot: MethodDefinition<_ferry_v1_SnapshotRequest, _ferry_v1_SnapshotResponse, _ferry_v1_SnapshotRequest__Output, _ferry_v1_SnapshotResponse__Output>
}
