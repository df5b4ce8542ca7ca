// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface AcknowledgeRequest {
  'storage'?: (string);
  'partition'?: (string);
  'consumer'?: (string);
  /**
   * at most the committed LSN; 0 (absent) only registers the consumer
   */
  'lsn'?: (number | string | Long);
}

export interface AcknowledgeRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
  'consumer'?: (string);
  /**
   * at most the committed LSN; 0 (absent) only registers the consumer
   */
  'lsn'?: (number);
}
