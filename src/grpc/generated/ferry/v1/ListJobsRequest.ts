// Original file: proto/ferry/v1/orchestrator.proto


export interface ListJobsRequest {
}

export interface ListJobsRequest__Output {
}
