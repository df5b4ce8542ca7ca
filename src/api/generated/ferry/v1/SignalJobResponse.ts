// Original file: proto/ferry/v1/orchestrator.proto


export interface SignalJobResponse {
  'outcome'?: (string);
  'machines'?: (string)[];
}

export interface SignalJobResponse__Output {
  'outcome'?: (string);
  'machines'?: (string)[];
}
