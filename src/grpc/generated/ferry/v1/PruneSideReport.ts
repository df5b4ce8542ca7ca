// Original file: proto/ferry/v1/orchestrator.proto

import type { PrunedSnapshot as _ferry_v1_PrunedSnapshot, PrunedSnapshot__Output as _ferry_v1_PrunedSnapshot__Output } from '../../ferry/v1/PrunedSnapshot.js';
import type { KeptSnapshot as _ferry_v1_KeptSnapshot, KeptSnapshot__Output as _ferry_v1_KeptSnapshot__Output } from '../../ferry/v1/KeptSnapshot.js';

/**
 * One side's pruning in a PruneReport.
 */
export interface PruneSideReport {
  /**
   * the pruning machine id
   */
  'id'?: (string);
  /**
   * sender or receiver
   */
  'side'?: (string);
  'endpoint'?: (string);
  'state'?: (string);
  'dryRun'?: (boolean);
  'problem'?: (string);
  /**
   * destroyed so far (a dry run: would be destroyed)
   */
  'destroyed'?: (_ferry_v1_PrunedSnapshot)[];
  /**
   * kept, with every reason
   */
  'kept'?: (_ferry_v1_KeptSnapshot)[];
}

/**
 * One side's pruning in a PruneReport.
 */
export interface PruneSideReport__Output {
  /**
   * the pruning machine id
   */
  'id'?: (string);
  /**
   * sender or receiver
   */
  'side'?: (string);
  'endpoint'?: (string);
  'state'?: (string);
  'dryRun'?: (boolean);
  'problem'?: (string);
  /**
   * destroyed so far (a dry run: would be destroyed)
   */
  'destroyed'?: (_ferry_v1_PrunedSnapshot__Output)[];
  /**
   * kept, with every reason
   */
  'kept'?: (_ferry_v1_KeptSnapshot__Output)[];
}
