// Original file: proto/ferry/v1/orchestrator.proto


export interface NotifyLogEntriesResponse {
  'partitions'?: (number);
}

export interface NotifyLogEntriesResponse__Output {
  'partitions'?: (number);
}
