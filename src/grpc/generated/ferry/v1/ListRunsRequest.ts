// Original file: proto/ferry/v1/orchestrator.proto


export interface ListRunsRequest {
  /**
   * only this job's invocations; empty = every run
   */
  'job'?: (string);
  /**
   * default 20
   */
  'limit'?: (number);
}

export interface ListRunsRequest__Output {
  /**
   * only this job's invocations; empty = every run
   */
  'job'?: (string);
  /**
   * default 20
   */
  'limit'?: (number);
}
