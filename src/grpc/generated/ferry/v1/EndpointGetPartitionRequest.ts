// Original file: proto/ferry/v1/endpoint.proto


export interface EndpointGetPartitionRequest {
  'storage'?: (string);
  'partition'?: (string);
}

export interface EndpointGetPartitionRequest__Output {
  'storage'?: (string);
  'partition'?: (string);
}
