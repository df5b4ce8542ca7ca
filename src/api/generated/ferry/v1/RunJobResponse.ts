// Original file: proto/ferry/v1/orchestrator.proto


export interface RunJobResponse {
  'runId'?: (string);
  'started'?: (boolean);
}

export interface RunJobResponse__Output {
  'runId'?: (string);
  'started'?: (boolean);
}
