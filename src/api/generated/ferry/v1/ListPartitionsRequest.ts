// Original file: proto/ferry/v1/endpoint.proto


export interface ListPartitionsRequest {
}

export interface ListPartitionsRequest__Output {
}
