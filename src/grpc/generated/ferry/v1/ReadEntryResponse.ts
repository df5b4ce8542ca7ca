// Original file: proto/ferry/v1/endpoint.proto

import type { ReadEntryHeader as _ferry_v1_ReadEntryHeader, ReadEntryHeader__Output as _ferry_v1_ReadEntryHeader__Output } from '../../ferry/v1/ReadEntryHeader.js';

export interface ReadEntryResponse {
  /**
   * the first message, and only the first
   */
  'header'?: (_ferry_v1_ReadEntryHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'message'?: "header"|"chunk";
}

export interface ReadEntryResponse__Output {
  /**
   * the first message, and only the first
   */
  'header'?: (_ferry_v1_ReadEntryHeader__Output);
  'chunk'?: (Buffer);
  'message'?: "header"|"chunk";
}
