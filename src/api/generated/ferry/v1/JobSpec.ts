// Original file: proto/ferry/v1/orchestrator.proto

import type { Schedule as _ferry_v1_Schedule, Schedule__Output as _ferry_v1_Schedule__Output } from '../../ferry/v1/Schedule.js';
import type { RetryPolicy as _ferry_v1_RetryPolicy, RetryPolicy__Output as _ferry_v1_RetryPolicy__Output } from '../../ferry/v1/RetryPolicy.js';

export interface JobSpec {
  'name'?: (string);
  'sender'?: (string);
  'receivers'?: (string)[];
  'filesystems'?: (string);
  'includeSnapshots'?: (string);
  'excludeSnapshots'?: (string);
  'initial'?: (string);
  'concurrency'?: (number);
  'batch'?: (boolean);
  'snapshotPrefix'?: (string);
  'schedule'?: (_ferry_v1_Schedule | null);
  'retry'?: (_ferry_v1_RetryPolicy | null);
}

export interface JobSpec__Output {
  'name'?: (string);
  'sender'?: (string);
  'receivers'?: (string)[];
  'filesystems'?: (string);
  'includeSnapshots'?: (string);
  'excludeSnapshots'?: (string);
  'initial'?: (string);
  'concurrency'?: (number);
  'batch'?: (boolean);
  'snapshotPrefix'?: (string);
  'schedule'?: (_ferry_v1_Schedule__Output);
  'retry'?: (_ferry_v1_RetryPolicy__Output);
}
