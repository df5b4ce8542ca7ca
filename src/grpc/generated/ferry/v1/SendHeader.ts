// Original file: proto/ferry/v1/endpoint.proto

import type { SizeEstimate as _ferry_v1_SizeEstimate, SizeEstimate__Output as _ferry_v1_SizeEstimate__Output } from '../../ferry/v1/SizeEstimate.js';

export interface SendHeader {
  /**
   * bytes the stream will carry, when the driver can tell in advance; absent otherwise
   */
  'sizeEstimate'?: (_ferry_v1_SizeEstimate | null);
}

export interface SendHeader__Output {
  /**
   * bytes the stream will carry, when the driver can tell in advance; absent otherwise
   */
  'sizeEstimate'?: (_ferry_v1_SizeEstimate__Output);
}
