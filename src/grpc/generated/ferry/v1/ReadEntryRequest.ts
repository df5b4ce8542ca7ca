// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadEntryRequest {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * >= 1, at most the committed LSN
   */
  'lsn'?: (number | string | Long);
}

export interface ReadEntryRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * >= 1, at most the committed LSN
   */
  'lsn'?: (number);
}
