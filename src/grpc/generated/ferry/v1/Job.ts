// Original file: proto/ferry/v1/orchestrator.proto

import type { JobSpec as _ferry_v1_JobSpec, JobSpec__Output as _ferry_v1_JobSpec__Output } from '../../ferry/v1/JobSpec.js';

export interface Job {
  'spec'?: (_ferry_v1_JobSpec | null);
  /**
   * ISO times
   */
  'createdAt'?: (string);
  /**
   * the latest invocation's id, empty if none yet
   */
  'lastRun'?: (string);
  /**
   * ISO time of the next scheduled invocation, empty if none
   */
  'nextRunAt'?: (string);
}

export interface Job__Output {
  'spec'?: (_ferry_v1_JobSpec__Output);
  /**
   * ISO times
   */
  'createdAt'?: (string);
  /**
   * the latest invocation's id, empty if none yet
   */
  'lastRun'?: (string);
  /**
   * ISO time of the next scheduled invocation, empty if none
   */
  'nextRunAt'?: (string);
}
