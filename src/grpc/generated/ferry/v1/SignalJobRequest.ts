// Original file: proto/ferry/v1/orchestrator.proto


export interface SignalJobRequest {
  'name'?: (string);
  /**
   * "wakeup" or "reset"
   */
  'signal'?: (string);
}

export interface SignalJobRequest__Output {
  'name'?: (string);
  /**
   * "wakeup" or "reset"
   */
  'signal'?: (string);
}
