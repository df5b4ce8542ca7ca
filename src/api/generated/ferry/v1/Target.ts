// Original file: proto/ferry/v1/orchestrator.proto


export interface Target {
  'target'?: (string);
  'healthy'?: (boolean);
  'since'?: (string);
  'failures'?: (number);
  'lastError'?: (string);
  'nextCheckAt'?: (string);
}

export interface Target__Output {
  'target'?: (string);
  'healthy'?: (boolean);
  'since'?: (string);
  'failures'?: (number);
  'lastError'?: (string);
  'nextCheckAt'?: (string);
}
