// Original file: proto/ferry/v1/endpoint.proto


export interface DescribeReceiverRequest {
  'endpoint'?: (string);
}

export interface DescribeReceiverRequest__Output {
  'endpoint'?: (string);
}
