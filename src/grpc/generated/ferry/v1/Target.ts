// Original file: proto/ferry/v1/orchestrator.proto


export interface Target {
  /**
   * host:port of an agent (grpcs://host:port for TLS ones)
   */
  'target'?: (string);
  'healthy'?: (boolean);
  /**
   * ISO time of the last change between healthy and unhealthy
   */
  'since'?: (string);
  'failures'?: (number);
  'lastError'?: (string);
  /**
   * ISO time of the next health check
   */
  'nextCheckAt'?: (string);
}

export interface Target__Output {
  /**
   * host:port of an agent (grpcs://host:port for TLS ones)
   */
  'target'?: (string);
  'healthy'?: (boolean);
  /**
   * ISO time of the last change between healthy and unhealthy
   */
  'since'?: (string);
  'failures'?: (number);
  'lastError'?: (string);
  /**
   * ISO time of the next health check
   */
  'nextCheckAt'?: (string);
}
