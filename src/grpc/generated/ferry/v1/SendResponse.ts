// Original file: proto/ferry/v1/endpoint.proto

import type { SendHeader as _ferry_v1_SendHeader, SendHeader__Output as _ferry_v1_SendHeader__Output } from '../../ferry/v1/SendHeader.js';

export interface SendResponse {
  /**
   * the first message, and only the first
   */
  'header'?: (_ferry_v1_SendHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'message'?: "header"|"chunk";
}

export interface SendResponse__Output {
  /**
   * the first message, and only the first
   */
  'header'?: (_ferry_v1_SendHeader__Output);
  'chunk'?: (Buffer);
  'message'?: "header"|"chunk";
}
