// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

export interface CurrentStep {
  'index'?: (number);
  'bytes'?: (number | string | Long);
  /**
   * 0 when unknown
   */
  'total'?: (number | string | Long);
  /**
   * -1 when unknown
   */
  'etaSeconds'?: (number | string | Long);
}

export interface CurrentStep__Output {
  'index'?: (number);
  'bytes'?: (number);
  /**
   * 0 when unknown
   */
  'total'?: (number);
  /**
   * -1 when unknown
   */
  'etaSeconds'?: (number);
}
