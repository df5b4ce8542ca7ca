// Original file: proto/ferry/v1/orchestrator.proto

import type { PruneSideReport as _ferry_v1_PruneSideReport, PruneSideReport__Output as _ferry_v1_PruneSideReport__Output } from '../../ferry/v1/PruneSideReport.js';

export interface PruneReport {
  'runId'?: (string);
  'job'?: (string);
  /**
   * the invocation's state: Pruning while it runs, then Completed or PermanentError
   */
  'state'?: (string);
  'problem'?: (string);
  /**
   * true once the invocation has finished (the lists are then complete)
   */
  'finished'?: (boolean);
  'sides'?: (_ferry_v1_PruneSideReport)[];
}

export interface PruneReport__Output {
  'runId'?: (string);
  'job'?: (string);
  /**
   * the invocation's state: Pruning while it runs, then Completed or PermanentError
   */
  'state'?: (string);
  'problem'?: (string);
  /**
   * true once the invocation has finished (the lists are then complete)
   */
  'finished'?: (boolean);
  'sides'?: (_ferry_v1_PruneSideReport__Output)[];
}
