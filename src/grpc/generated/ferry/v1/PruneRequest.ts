// Original file: proto/ferry/v1/endpoint.proto


export interface PruneRequest {
  'storage'?: (string);
  'partition'?: (string);
}

export interface PruneRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
}
