// Original file: proto/ferry/v1/endpoint.proto

import type { PartitionState as _ferry_v1_PartitionState, PartitionState__Output as _ferry_v1_PartitionState__Output } from '../../ferry/v1/PartitionState.js';

export interface EndpointGetPartitionResponse {
  'partition'?: (_ferry_v1_PartitionState | null);
}

export interface EndpointGetPartitionResponse__Output {
  'partition'?: (_ferry_v1_PartitionState__Output);
}
