// Original file: proto/ferry/v1/orchestrator.proto


export interface ListTargetsRequest {
}

export interface ListTargetsRequest__Output {
}
