// Original file: proto/ferry/v1/endpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface Version {
  'name'?: (string);
  'guid'?: (string);
  'createtxg'?: (number | string | Long);
  'creation'?: (string);
}

export interface Version__Output {
  'name'?: (string);
  'guid'?: (string);
  'createtxg'?: (number);
  'creation'?: (string);
}
