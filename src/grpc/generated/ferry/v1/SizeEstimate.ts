// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface SizeEstimate {
  'bytes'?: (number | string | Long);
}

export interface SizeEstimate__Output {
  'bytes'?: (number);
}
