// Original file: proto/ferry/v1/orchestrator.proto


export interface ListPartitionsRequest {
}

export interface ListPartitionsRequest__Output {
}
