// Original file: proto/ferry/v1/endpoint.proto


export interface ListVersionsRequest {
  'endpoint'?: (string);
  'filesystem'?: (string);
}

export interface ListVersionsRequest__Output {
  'endpoint'?: (string);
  'filesystem'?: (string);
}
