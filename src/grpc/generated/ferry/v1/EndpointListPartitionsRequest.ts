// Original file: proto/ferry/v1/endpoint.proto


export interface EndpointListPartitionsRequest {
}

export interface EndpointListPartitionsRequest__Output {
}
