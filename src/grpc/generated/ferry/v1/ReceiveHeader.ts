// Original file: proto/ferry/v1/endpoint.proto


export interface ReceiveHeader {
  'endpoint'?: (string);
  'filesystem'?: (string);
}

export interface ReceiveHeader__Output {
  'endpoint'?: (string);
  'filesystem'?: (string);
}
