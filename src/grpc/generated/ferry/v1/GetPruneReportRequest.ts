// Original file: proto/ferry/v1/orchestrator.proto


export interface GetPruneReportRequest {
  'runId'?: (string);
}

export interface GetPruneReportRequest__Output {
  'runId'?: (string);
}
