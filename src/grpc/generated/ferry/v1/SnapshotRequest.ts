// Original file: proto/ferry/v1/endpoint.proto


export interface SnapshotRequest {
  'endpoint'?: (string);
  'filesystems'?: (string)[];
  'name'?: (string);
}

export interface SnapshotRequest__Output {
  'endpoint'?: (string);
  'filesystems'?: (string)[];
  'name'?: (string);
}
