// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

export interface Transition {
  /**
   * stream id: pass it back as after_id to resume
   */
  'id'?: (string);
  'kind'?: (string);
  'machineId'?: (string);
  'parent'?: (string);
  /**
   * empty for the first transition of a machine
   */
  'from'?: (string);
  'to'?: (string);
  'event'?: (string);
  /**
   * epoch ms
   */
  'at'?: (number | string | Long);
  'version'?: (number | string | Long);
  /**
   * active, done, error, stopped
   */
  'status'?: (string);
}

export interface Transition__Output {
  /**
   * stream id: pass it back as after_id to resume
   */
  'id'?: (string);
  'kind'?: (string);
  'machineId'?: (string);
  'parent'?: (string);
  /**
   * empty for the first transition of a machine
   */
  'from'?: (string);
  'to'?: (string);
  'event'?: (string);
  /**
   * epoch ms
   */
  'at'?: (number);
  'version'?: (number);
  /**
   * active, done, error, stopped
   */
  'status'?: (string);
}
