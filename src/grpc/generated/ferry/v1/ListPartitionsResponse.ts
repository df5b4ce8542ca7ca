// Original file: proto/ferry/v1/orchestrator.proto

import type { Partition as _ferry_v1_Partition, Partition__Output as _ferry_v1_Partition__Output } from '../../ferry/v1/Partition.js';

export interface ListPartitionsResponse {
  'partitions'?: (_ferry_v1_Partition)[];
}

export interface ListPartitionsResponse__Output {
  'partitions'?: (_ferry_v1_Partition__Output)[];
}
