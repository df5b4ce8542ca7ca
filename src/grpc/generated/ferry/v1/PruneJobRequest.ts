// Original file: proto/ferry/v1/orchestrator.proto


export interface PruneJobRequest {
  'name'?: (string);
  /**
   * plan and report only: nothing is destroyed
   */
  'dryRun'?: (boolean);
}

export interface PruneJobRequest__Output {
  'name'?: (string);
  /**
   * plan and report only: nothing is destroyed
   */
  'dryRun'?: (boolean);
}
