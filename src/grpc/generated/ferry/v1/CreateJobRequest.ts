// Original file: proto/ferry/v1/orchestrator.proto

import type { JobSpec as _ferry_v1_JobSpec, JobSpec__Output as _ferry_v1_JobSpec__Output } from '../../ferry/v1/JobSpec.js';

export interface CreateJobRequest {
  'spec'?: (_ferry_v1_JobSpec | null);
  /**
   * replace a job of the same name (its schedule is replaced too)
   */
  'replace'?: (boolean);
}

export interface CreateJobRequest__Output {
  'spec'?: (_ferry_v1_JobSpec__Output);
  /**
   * replace a job of the same name (its schedule is replaced too)
   */
  'replace'?: (boolean);
}
