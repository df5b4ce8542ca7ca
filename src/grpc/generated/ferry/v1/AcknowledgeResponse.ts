// Original file: proto/ferry/v1/endpoint.proto


export interface AcknowledgeResponse {
}

export interface AcknowledgeResponse__Output {
}
