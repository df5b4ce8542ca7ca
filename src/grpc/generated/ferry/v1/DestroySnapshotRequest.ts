// Original file: proto/ferry/v1/endpoint.proto


export interface DestroySnapshotRequest {
  'endpoint'?: (string);
  'filesystem'?: (string);
  /**
   * snapshot name without the filesystem part
   */
  'name'?: (string);
}

export interface DestroySnapshotRequest__Output {
  'endpoint'?: (string);
  'filesystem'?: (string);
  /**
   * snapshot name without the filesystem part
   */
  'name'?: (string);
}
