// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface Version {
  /**
   * snapshot name without the filesystem part
   */
  'name'?: (string);
  /**
   * identity across sender and receiver
   */
  'guid'?: (string);
  /**
   * creation order on the node that created it
   */
  'createtxg'?: (number | string | Long);
  /**
   * ISO time the snapshot was taken, informational; empty when unknown
   */
  'creation'?: (string);
}

export interface Version__Output {
  /**
   * snapshot name without the filesystem part
   */
  'name'?: (string);
  /**
   * identity across sender and receiver
   */
  'guid'?: (string);
  /**
   * creation order on the node that created it
   */
  'createtxg'?: (number);
  /**
   * ISO time the snapshot was taken, informational; empty when unknown
   */
  'creation'?: (string);
}
