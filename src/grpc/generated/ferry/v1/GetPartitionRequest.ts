// Original file: proto/ferry/v1/orchestrator.proto


export interface GetPartitionRequest {
  'storage'?: (string);
  'partition'?: (string);
}

export interface GetPartitionRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
}
