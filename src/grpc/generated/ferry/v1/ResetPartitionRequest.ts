// Original file: proto/ferry/v1/orchestrator.proto


/**
 * The same selection as GetPartitionRequest.
 */
export interface ResetPartitionRequest {
  'storage'?: (string);
  'partition'?: (string);
  'consumer'?: (string);
  'sink'?: (string);
  'log'?: (string);
}

/**
 * The same selection as GetPartitionRequest.
 */
export interface ResetPartitionRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
  'consumer'?: (string);
  'sink'?: (string);
  'log'?: (string);
}
