// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface PruneResponse {
  /**
   * entries removed
   */
  'pruned'?: (number | string | Long);
}

export interface PruneResponse__Output {
  /**
   * entries removed
   */
  'pruned'?: (number);
}
