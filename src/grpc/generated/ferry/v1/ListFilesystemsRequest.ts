// Original file: proto/ferry/v1/endpoint.proto


export interface ListFilesystemsRequest {
  'endpoint'?: (string);
}

export interface ListFilesystemsRequest__Output {
  'endpoint'?: (string);
}
