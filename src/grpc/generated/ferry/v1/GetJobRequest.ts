// Original file: proto/ferry/v1/orchestrator.proto


export interface GetJobRequest {
  'name'?: (string);
}

export interface GetJobRequest__Output {
  'name'?: (string);
}
