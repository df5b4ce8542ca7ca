// Original file: proto/ferry/v1/orchestrator.proto


export interface ResetPartitionResponse {
  /**
   * the archiver's machine id
   */
  'id'?: (string);
  /**
   * why it was Failed
   */
  'problem'?: (string);
}

export interface ResetPartitionResponse__Output {
  /**
   * the archiver's machine id
   */
  'id'?: (string);
  /**
   * why it was Failed
   */
  'problem'?: (string);
}
