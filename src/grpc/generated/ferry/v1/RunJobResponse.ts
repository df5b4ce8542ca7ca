// Original file: proto/ferry/v1/orchestrator.proto


export interface RunJobResponse {
  /**
   * the invocation started, or the one already active
   */
  'runId'?: (string);
  /**
   * false when an invocation was already active and no new one started
   */
  'started'?: (boolean);
}

export interface RunJobResponse__Output {
  /**
   * the invocation started, or the one already active
   */
  'runId'?: (string);
  /**
   * false when an invocation was already active and no new one started
   */
  'started'?: (boolean);
}
