// Original file: proto/ferry/v1/endpoint.proto

import type { ReceiveHeader as _ferry_v1_ReceiveHeader, ReceiveHeader__Output as _ferry_v1_ReceiveHeader__Output } from '../../ferry/v1/ReceiveHeader.js';

export interface ReceiveRequest {
  /**
   * the first message, and only the first
   */
  'header'?: (_ferry_v1_ReceiveHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'message'?: "header"|"chunk";
}

export interface ReceiveRequest__Output {
  /**
   * the first message, and only the first
   */
  'header'?: (_ferry_v1_ReceiveHeader__Output);
  'chunk'?: (Buffer);
  'message'?: "header"|"chunk";
}
