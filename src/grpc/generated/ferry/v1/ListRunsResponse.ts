// Original file: proto/ferry/v1/orchestrator.proto

import type { Run as _ferry_v1_Run, Run__Output as _ferry_v1_Run__Output } from '../../ferry/v1/Run.js';

export interface ListRunsResponse {
  'runs'?: (_ferry_v1_Run)[];
}

export interface ListRunsResponse__Output {
  'runs'?: (_ferry_v1_Run__Output)[];
}
