// Original file: proto/ferry/v1/orchestrator.proto


export interface GetRunRequest {
  'id'?: (string);
}

export interface GetRunRequest__Output {
  'id'?: (string);
}
