// Original file: proto/ferry/v1/orchestrator.proto


export interface RetryPolicy {
  /**
   * first wait after a temporary failure; 0 = default (5000)
   */
  'initialMs'?: (number);
  /**
   * longest wait; 0 = default (300000)
   */
  'maxMs'?: (number);
  /**
   * attempts of a step before it is a permanent error; 0 = default (10)
   */
  'maxAttempts'?: (number);
}

export interface RetryPolicy__Output {
  /**
   * first wait after a temporary failure; 0 = default (5000)
   */
  'initialMs'?: (number);
  /**
   * longest wait; 0 = default (300000)
   */
  'maxMs'?: (number);
  /**
   * attempts of a step before it is a permanent error; 0 = default (10)
   */
  'maxAttempts'?: (number);
}
