// Original file: proto/ferry/v1/orchestrator.proto


export interface DeleteJobResponse {
}

export interface DeleteJobResponse__Output {
}
