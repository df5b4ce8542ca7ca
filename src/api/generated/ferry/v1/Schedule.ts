// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

export interface Schedule {
  'everyMs'?: (number | string | Long);
  'cron'?: (string);
  'timezone'?: (string);
  'schedule'?: "everyMs"|"cron";
}

export interface Schedule__Output {
  'everyMs'?: (number);
  'cron'?: (string);
  'timezone'?: (string);
  'schedule'?: "everyMs"|"cron";
}
