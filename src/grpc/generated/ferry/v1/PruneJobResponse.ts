// Original file: proto/ferry/v1/orchestrator.proto


export interface PruneJobResponse {
  /**
   * the pruning invocation, for GetPruneReport (and GetRun)
   */
  'runId'?: (string);
}

export interface PruneJobResponse__Output {
  /**
   * the pruning invocation, for GetPruneReport (and GetRun)
   */
  'runId'?: (string);
}
