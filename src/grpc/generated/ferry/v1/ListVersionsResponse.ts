// Original file: proto/ferry/v1/endpoint.proto

import type { Version as _ferry_v1_Version, Version__Output as _ferry_v1_Version__Output } from '../../ferry/v1/Version.js';

export interface ListVersionsResponse {
  'versions'?: (_ferry_v1_Version)[];
}

export interface ListVersionsResponse__Output {
  'versions'?: (_ferry_v1_Version__Output)[];
}
