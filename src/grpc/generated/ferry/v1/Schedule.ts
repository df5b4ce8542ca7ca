// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

export interface Schedule {
  /**
   * run every so many milliseconds (at least 1000)
   */
  'everyMs'?: (number | string | Long);
  /**
   * a cron pattern with seconds optional, e.g. "0 * /15 * * * *"; in UTC unless `timezone` is set
   */
  'cron'?: (string);
  /**
   * IANA time zone of the cron pattern
   */
  'timezone'?: (string);
  'schedule'?: "everyMs"|"cron";
}

export interface Schedule__Output {
  /**
   * run every so many milliseconds (at least 1000)
   */
  'everyMs'?: (number);
  /**
   * a cron pattern with seconds optional, e.g. "0 * /15 * * * *"; in UTC unless `timezone` is set
   */
  'cron'?: (string);
  /**
   * IANA time zone of the cron pattern
   */
  'timezone'?: (string);
  'schedule'?: "everyMs"|"cron";
}
