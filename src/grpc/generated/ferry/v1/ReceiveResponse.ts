// Original file: proto/ferry/v1/endpoint.proto

import type { Version as _ferry_v1_Version, Version__Output as _ferry_v1_Version__Output } from '../../ferry/v1/Version.js';

export interface ReceiveResponse {
  'version'?: (_ferry_v1_Version | null);
}

export interface ReceiveResponse__Output {
  'version'?: (_ferry_v1_Version__Output);
}
