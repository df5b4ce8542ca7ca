// Original file: proto/ferry/v1/orchestrator.proto


export interface SignalJobRequest {
  'name'?: (string);
  'signal'?: (string);
}

export interface SignalJobRequest__Output {
  'name'?: (string);
  'signal'?: (string);
}
