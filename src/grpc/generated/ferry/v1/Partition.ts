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
  /**
   * where the partition is archived from and to (the sink URL with secret_key=***), and as which
   * consumer of the log source
   */
  'log'?: (string);
  'sink'?: (string);
  'consumer'?: (string);
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
  /**
   * where the partition is archived from and to (the sink URL with secret_key=***), and as which
   * consumer of the log source
   */
  'log'?: (string);
  'sink'?: (string);
  'consumer'?: (string);
}
