// Original file: proto/ferry/v1/orchestrator.proto


export interface PrunedSnapshot {
  'filesystem'?: (string);
  'name'?: (string);
  /**
   * why the rules let it go
   */
  'reason'?: (string);
}

export interface PrunedSnapshot__Output {
  'filesystem'?: (string);
  'name'?: (string);
  /**
   * why the rules let it go
   */
  'reason'?: (string);
}
