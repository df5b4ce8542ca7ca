// Original file: proto/ferry/v1/orchestrator.proto


export interface NotifyLogEntriesRequest {
  'log'?: (string);
  'sink'?: (string);
}

export interface NotifyLogEntriesRequest__Output {
  'log'?: (string);
  'sink'?: (string);
}
