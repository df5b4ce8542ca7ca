// Original file: proto/ferry/v1/orchestrator.proto


export interface DeleteJobRequest {
  'name'?: (string);
}

export interface DeleteJobRequest__Output {
  'name'?: (string);
}
