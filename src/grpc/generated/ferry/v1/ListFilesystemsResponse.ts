// Original file: proto/ferry/v1/endpoint.proto


export interface ListFilesystemsResponse {
  'filesystems'?: (string)[];
}

export interface ListFilesystemsResponse__Output {
  'filesystems'?: (string)[];
}
