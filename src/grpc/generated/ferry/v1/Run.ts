// Original file: proto/ferry/v1/orchestrator.proto

import type { Run as _ferry_v1_Run, Run__Output as _ferry_v1_Run__Output } from '../../ferry/v1/Run.js';
import type { FilesystemReport as _ferry_v1_FilesystemReport, FilesystemReport__Output as _ferry_v1_FilesystemReport__Output } from '../../ferry/v1/FilesystemReport.js';
import type { Pruning as _ferry_v1_Pruning, Pruning__Output as _ferry_v1_Pruning__Output } from '../../ferry/v1/Pruning.js';
import type { Long } from '@grpc/proto-loader';

export interface Run {
  'id'?: (string);
  /**
   * "job" (an invocation with one replication per receiver) or "replication"
   */
  'kind'?: (string);
  /**
   * the machine's state: Snapshotting, Replicating, Planning, Working, WorkingWait, Completed, PermanentError...
   */
  'state'?: (string);
  'problem'?: (string);
  /**
   * the job of an invocation; empty for an ad-hoc replication
   */
  'job'?: (string);
  'sender'?: (string);
  /**
   * the receiver of a replication; empty for a job invocation
   */
  'receiver'?: (string);
  'bytes'?: (number | string | Long);
  /**
   * ISO time the machine was created
   */
  'createdAt'?: (string);
  /**
   * the replications of a job invocation, one per receiver
   */
  'replications'?: (_ferry_v1_Run)[];
  /**
   * the filesystems of a replication
   */
  'filesystems'?: (_ferry_v1_FilesystemReport)[];
  /**
   * the snapshot the invocation took before replicating, if any
   */
  'snapshot'?: (string);
  /**
   * a job invocation's prunings, one per side with keep rules (the sender, each receiver)
   */
  'prunings'?: (_ferry_v1_Pruning)[];
}

export interface Run__Output {
  'id'?: (string);
  /**
   * "job" (an invocation with one replication per receiver) or "replication"
   */
  'kind'?: (string);
  /**
   * the machine's state: Snapshotting, Replicating, Planning, Working, WorkingWait, Completed, PermanentError...
   */
  'state'?: (string);
  'problem'?: (string);
  /**
   * the job of an invocation; empty for an ad-hoc replication
   */
  'job'?: (string);
  'sender'?: (string);
  /**
   * the receiver of a replication; empty for a job invocation
   */
  'receiver'?: (string);
  'bytes'?: (number);
  /**
   * ISO time the machine was created
   */
  'createdAt'?: (string);
  /**
   * the replications of a job invocation, one per receiver
   */
  'replications'?: (_ferry_v1_Run__Output)[];
  /**
   * the filesystems of a replication
   */
  'filesystems'?: (_ferry_v1_FilesystemReport__Output)[];
  /**
   * the snapshot the invocation took before replicating, if any
   */
  'snapshot'?: (string);
  /**
   * a job invocation's prunings, one per side with keep rules (the sender, each receiver)
   */
  'prunings'?: (_ferry_v1_Pruning__Output)[];
}
