// Original file: proto/ferry/v1/orchestrator.proto


export interface NotifyLogEntriesResponse {
  /**
   * partitions found and notified
   */
  'partitions'?: (number);
}

export interface NotifyLogEntriesResponse__Output {
  /**
   * partitions found and notified
   */
  'partitions'?: (number);
}
