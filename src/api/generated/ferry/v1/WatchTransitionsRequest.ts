// Original file: proto/ferry/v1/orchestrator.proto


export interface WatchTransitionsRequest {
  'kinds'?: (string)[];
  'machineIds'?: (string)[];
  'afterId'?: (string);
}

export interface WatchTransitionsRequest__Output {
  'kinds'?: (string)[];
  'machineIds'?: (string)[];
  'afterId'?: (string);
}
