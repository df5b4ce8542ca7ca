// Original file: proto/ferry/v1/endpoint.proto


export interface ResumeTokenRequest {
  'endpoint'?: (string);
  'filesystem'?: (string);
}

export interface ResumeTokenRequest__Output {
  'endpoint'?: (string);
  'filesystem'?: (string);
}
