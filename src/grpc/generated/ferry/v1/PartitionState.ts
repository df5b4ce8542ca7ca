// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface PartitionState {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * lowest LSN still present; the committed LSN + 1 when no entry is present
   */
  'lowWaterMark'?: (number | string | Long);
  /**
   * the committed LSN (0: nothing committed yet)
   */
  'highWaterMark'?: (number | string | Long);
  /**
   * acknowledged LSN by consumer name
   */
  'positions'?: ({[key: string]: number | string | Long});
}

export interface PartitionState__Output {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * lowest LSN still present; the committed LSN + 1 when no entry is present
   */
  'lowWaterMark'?: (number);
  /**
   * the committed LSN (0: nothing committed yet)
   */
  'highWaterMark'?: (number);
  /**
   * acknowledged LSN by consumer name
   */
  'positions'?: ({[key: string]: number});
}
