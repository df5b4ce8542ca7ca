// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

export interface Transition {
  'id'?: (string);
  'kind'?: (string);
  'machineId'?: (string);
  'parent'?: (string);
  'from'?: (string);
  'to'?: (string);
  'event'?: (string);
  'at'?: (number | string | Long);
  'version'?: (number | string | Long);
  'status'?: (string);
}

export interface Transition__Output {
  'id'?: (string);
  'kind'?: (string);
  'machineId'?: (string);
  'parent'?: (string);
  'from'?: (string);
  'to'?: (string);
  'event'?: (string);
  'at'?: (number);
  'version'?: (number);
  'status'?: (string);
}
