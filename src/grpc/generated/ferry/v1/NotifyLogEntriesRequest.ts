// Original file: proto/ferry/v1/orchestrator.proto


export interface NotifyLogEntriesRequest {
  /**
   * log source root on the workers' machine, or grpc://HOST:PORT of an agent with --log-root
   */
  'log'?: (string);
  /**
   * file:///abs/path or s3://bucket/prefix?endpoint=URL
   */
  'sink'?: (string);
  /**
   * the position the archiver moves in the log source ([A-Za-z0-9_-], up to 200 characters);
   * "" = derived from the sink, so each sink has its own
   */
  'consumer'?: (string);
}

export interface NotifyLogEntriesRequest__Output {
  /**
   * log source root on the workers' machine, or grpc://HOST:PORT of an agent with --log-root
   */
  'log'?: (string);
  /**
   * file:///abs/path or s3://bucket/prefix?endpoint=URL
   */
  'sink'?: (string);
  /**
   * the position the archiver moves in the log source ([A-Za-z0-9_-], up to 200 characters);
   * "" = derived from the sink, so each sink has its own
   */
  'consumer'?: (string);
}
