// Original file: proto/ferry/v1/orchestrator.proto

import type { JobSpec as _ferry_v1_JobSpec, JobSpec__Output as _ferry_v1_JobSpec__Output } from '../../ferry/v1/JobSpec.js';

export interface Job {
  'spec'?: (_ferry_v1_JobSpec | null);
  'createdAt'?: (string);
  'lastRun'?: (string);
  'nextRunAt'?: (string);
}

export interface Job__Output {
  'spec'?: (_ferry_v1_JobSpec__Output);
  'createdAt'?: (string);
  'lastRun'?: (string);
  'nextRunAt'?: (string);
}
