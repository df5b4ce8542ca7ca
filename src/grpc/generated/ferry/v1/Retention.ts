// Original file: proto/ferry/v1/orchestrator.proto

import type { KeepRule as _ferry_v1_KeepRule, KeepRule__Output as _ferry_v1_KeepRule__Output } from '../../ferry/v1/KeepRule.js';

export interface Retention {
  'sender'?: (_ferry_v1_KeepRule)[];
  /**
   * the same rules for every receiver
   */
  'receivers'?: (_ferry_v1_KeepRule)[];
}

export interface Retention__Output {
  'sender'?: (_ferry_v1_KeepRule__Output)[];
  /**
   * the same rules for every receiver
   */
  'receivers'?: (_ferry_v1_KeepRule__Output)[];
}
