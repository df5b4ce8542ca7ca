// Original file: proto/ferry/v1/endpoint.proto

import type { Version as _ferry_v1_Version, Version__Output as _ferry_v1_Version__Output } from '../../ferry/v1/Version.js';

export interface SendRequest {
  'endpoint'?: (string);
  'filesystem'?: (string);
  'from'?: (_ferry_v1_Version | null);
  'to'?: (_ferry_v1_Version | null);
  'intermediates'?: (boolean);
}

export interface SendRequest__Output {
  'endpoint'?: (string);
  'filesystem'?: (string);
  'from'?: (_ferry_v1_Version__Output);
  'to'?: (_ferry_v1_Version__Output);
  'intermediates'?: (boolean);
}
