// Original file: proto/ferry/v1/endpoint.proto


export interface DestroySnapshotResponse {
}

export interface DestroySnapshotResponse__Output {
}
