// Original file: proto/ferry/v1/orchestrator.proto


export interface GetPartitionRequest {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * whose archiver of the partition; "" = the only one (INVALID_ARGUMENT naming the consumers when
   * several sinks or consumers archive it)
   */
  'consumer'?: (string);
}

export interface GetPartitionRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
  /**
   * whose archiver of the partition; "" = the only one (INVALID_ARGUMENT naming the consumers when
   * several sinks or consumers archive it)
   */
  'consumer'?: (string);
}
