// Original file: proto/ferry/v1/endpoint.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ListFilesystemsRequest as _ferry_v1_ListFilesystemsRequest, ListFilesystemsRequest__Output as _ferry_v1_ListFilesystemsRequest__Output } from '../../ferry/v1/ListFilesystemsRequest.js';
import type { ListFilesystemsResponse as _ferry_v1_ListFilesystemsResponse, ListFilesystemsResponse__Output as _ferry_v1_ListFilesystemsResponse__Output } from '../../ferry/v1/ListFilesystemsResponse.js';
import type { ListVersionsRequest as _ferry_v1_ListVersionsRequest, ListVersionsRequest__Output as _ferry_v1_ListVersionsRequest__Output } from '../../ferry/v1/ListVersionsRequest.js';
import type { ListVersionsResponse as _ferry_v1_ListVersionsResponse, ListVersionsResponse__Output as _ferry_v1_ListVersionsResponse__Output } from '../../ferry/v1/ListVersionsResponse.js';
import type { ReceiveRequest as _ferry_v1_ReceiveRequest, ReceiveRequest__Output as _ferry_v1_ReceiveRequest__Output } from '../../ferry/v1/ReceiveRequest.js';
import type { ReceiveResponse as _ferry_v1_ReceiveResponse, ReceiveResponse__Output as _ferry_v1_ReceiveResponse__Output } from '../../ferry/v1/ReceiveResponse.js';
import type { SendRequest as _ferry_v1_SendRequest, SendRequest__Output as _ferry_v1_SendRequest__Output } from '../../ferry/v1/SendRequest.js';
import type { SendResponse as _ferry_v1_SendResponse, SendResponse__Output as _ferry_v1_SendResponse__Output } from '../../ferry/v1/SendResponse.js';
import type { SnapshotRequest as _ferry_v1_SnapshotRequest, SnapshotRequest__Output as _ferry_v1_SnapshotRequest__Output } from '../../ferry/v1/SnapshotRequest.js';
import type { SnapshotResponse as _ferry_v1_SnapshotResponse, SnapshotResponse__Output as _ferry_v1_SnapshotResponse__Output } from '../../ferry/v1/SnapshotResponse.js';

export interface EndpointClient extends grpc.Client {
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
   * child filesystems of the endpoint root, sorted
   */
  ListFilesystems: grpc.handleUnaryCall<_ferry_v1_ListFilesystemsRequest__Output, _ferry_v1_ListFilesystemsResponse>;
  
  /**
   * versions of one filesystem, oldest first; none if it has none or does not exist
   */
  ListVersions: grpc.handleUnaryCall<_ferry_v1_ListVersionsRequest__Output, _ferry_v1_ListVersionsResponse>;
  
  /**
   * applies a stream made by Send of an endpoint of the same kind: first a header, then chunks;
   * atomic (the version exists with all its data afterwards, or the receiver is as before)
   */
  Receive: grpc.handleClientStreamingCall<_ferry_v1_ReceiveRequest__Output, _ferry_v1_ReceiveResponse>;
  
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
  ListFilesystems: MethodDefinition<_ferry_v1_ListFilesystemsRequest, _ferry_v1_ListFilesystemsResponse, _ferry_v1_ListFilesystemsRequest__Output, _ferry_v1_ListFilesystemsResponse__Output>
  ListVersions: MethodDefinition<_ferry_v1_ListVersionsRequest, _ferry_v1_ListVersionsResponse, _ferry_v1_ListVersionsRequest__Output, _ferry_v1_ListVersionsResponse__Output>
  Receive: MethodDefinition<_ferry_v1_ReceiveRequest, _ferry_v1_ReceiveResponse, _ferry_v1_ReceiveRequest__Output, _ferry_v1_ReceiveResponse__Output>
  Send: MethodDefinition<_ferry_v1_SendRequest, _ferry_v1_SendResponse, _ferry_v1_SendRequest__Output, _ferry_v1_SendResponse__Output>
  Snapshot: MethodDefinition<_ferry_v1_SnapshotRequest, _ferry_v1_SnapshotResponse, _ferry_v1_SnapshotRequest__Output, _ferry_v1_SnapshotResponse__Output>
}
