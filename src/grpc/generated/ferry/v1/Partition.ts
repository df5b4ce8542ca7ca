// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

export interface Partition {
  'id'?: (string);
  'storage'?: (string);
  'partition'?: (string);
  'state'?: (string);
  'nextLsn'?: (number | string | Long);
  'highWaterMark'?: (number | string | Long);
  'archived'?: (number | string | Long);
  'present'?: (number | string | Long);
  'gaps'?: (number | string | Long);
  'backoffMs'?: (number | string | Long);
  'problem'?: (string);
}

export interface Partition__Output {
  'id'?: (string);
  'storage'?: (string);
  'partition'?: (string);
  'state'?: (string);
  'nextLsn'?: (number);
  'highWaterMark'?: (number);
  'archived'?: (number);
  'present'?: (number);
  'gaps'?: (number);
  'backoffMs'?: (number);
  'problem'?: (string);
}
