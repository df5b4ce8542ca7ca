// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

export interface CurrentStep {
  'index'?: (number);
  'bytes'?: (number | string | Long);
  'total'?: (number | string | Long);
  'etaSeconds'?: (number | string | Long);
}

export interface CurrentStep__Output {
  'index'?: (number);
  'bytes'?: (number);
  'total'?: (number);
  'etaSeconds'?: (number);
}
