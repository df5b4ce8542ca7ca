// Original file: proto/ferry/v1/orchestrator.proto

import type { Target as _ferry_v1_Target, Target__Output as _ferry_v1_Target__Output } from '../../ferry/v1/Target.js';

export interface ListTargetsResponse {
  'targets'?: (_ferry_v1_Target)[];
}

export interface ListTargetsResponse__Output {
  'targets'?: (_ferry_v1_Target__Output)[];
}
