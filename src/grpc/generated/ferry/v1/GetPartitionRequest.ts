// Original file: proto/ferry/v1/orchestrator.proto


export interface GetPartitionRequest {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * Which archiver: one machine per (log, sink, consumer) archives a partition. Each non-empty
   * field below narrows the choice (the sink compared by location, credentials aside); "" = any.
   * INVALID_ARGUMENT (consumer) naming the archivers when more than one is left.
   */
  'consumer'?: (string);
  'sink'?: (string);
  'log'?: (string);
}

export interface GetPartitionRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * Which archiver: one machine per (log, sink, consumer) archives a partition. Each non-empty
   * field below narrows the choice (the sink compared by location, credentials aside); "" = any.
   * INVALID_ARGUMENT (consumer) naming the archivers when more than one is left.
   */
  'consumer'?: (string);
  'sink'?: (string);
  'log'?: (string);
}
