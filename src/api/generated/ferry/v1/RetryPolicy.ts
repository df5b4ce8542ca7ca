// Original file: proto/ferry/v1/orchestrator.proto


export interface RetryPolicy {
  'initialMs'?: (number);
  'maxMs'?: (number);
  'maxAttempts'?: (number);
}

export interface RetryPolicy__Output {
  'initialMs'?: (number);
  'maxMs'?: (number);
  'maxAttempts'?: (number);
}
