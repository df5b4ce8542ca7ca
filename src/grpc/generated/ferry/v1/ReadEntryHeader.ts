// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadEntryHeader {
  /**
   * exact size of the tarball in bytes; 0 when the source cannot tell in advance
   */
  'size'?: (number | string | Long);
}

export interface ReadEntryHeader__Output {
  /**
   * exact size of the tarball in bytes; 0 when the source cannot tell in advance
   */
  'size'?: (number);
}
