// Original file: proto/ferry/v1/orchestrator.proto


export interface RunJobRequest {
  'name'?: (string);
}

export interface RunJobRequest__Output {
  'name'?: (string);
}
