// Original file: proto/ferry/v1/orchestrator.proto


export interface ListRunsRequest {
  'job'?: (string);
  'limit'?: (number);
}

export interface ListRunsRequest__Output {
  'job'?: (string);
  'limit'?: (number);
}
