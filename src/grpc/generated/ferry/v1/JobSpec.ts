// Original file: proto/ferry/v1/orchestrator.proto

import type { Schedule as _ferry_v1_Schedule, Schedule__Output as _ferry_v1_Schedule__Output } from '../../ferry/v1/Schedule.js';
import type { RetryPolicy as _ferry_v1_RetryPolicy, RetryPolicy__Output as _ferry_v1_RetryPolicy__Output } from '../../ferry/v1/RetryPolicy.js';
import type { Retention as _ferry_v1_Retention, Retention__Output as _ferry_v1_Retention__Output } from '../../ferry/v1/Retention.js';
import type { SendOptions as _ferry_v1_SendOptions, SendOptions__Output as _ferry_v1_SendOptions__Output } from '../../ferry/v1/SendOptions.js';

export interface JobSpec {
  /**
   * [A-Za-z0-9_-], 1 to 64 characters
   */
  'name'?: (string);
  /**
   * endpoint, local to the workers or grpc://HOST:PORT/<endpoint>
   */
  'sender'?: (string);
  /**
   * one replication per receiver, in parallel (fan-out)
   */
  'receivers'?: (string)[];
  /**
   * glob on filesystem names (* and ?)
   */
  'filesystems'?: (string);
  /**
   * regular expressions on snapshot names
   */
  'includeSnapshots'?: (string);
  'excludeSnapshots'?: (string);
  /**
   * what to send to a receiver filesystem without versions: most_recent (default), all, fail
   */
  'initial'?: (string);
  /**
   * filesystems replicating at once per receiver; 0 = default (8)
   */
  'concurrency'?: (number);
  'batch'?: (boolean);
  /**
   * take a snapshot named <prefix>_<UTC time> (e.g. nightly_20260301T120000Z) of the sender before
   * each run; empty = no snapshot
   */
  'snapshotPrefix'?: (string);
  /**
   * absent: runs only when asked (RunJob, SignalJob WAKEUP)
   */
  'schedule'?: (_ferry_v1_Schedule | null);
  'retry'?: (_ferry_v1_RetryPolicy | null);
  /**
   * keep rules per side (docs/retention.md); absent, or a side without rules: nothing is pruned there
   */
  'retention'?: (_ferry_v1_Retention | null);
  /**
   * the stream of every step: zfs send/receive flags and a bandwidth limit (docs/send-options.md)
   */
  'send'?: (_ferry_v1_SendOptions | null);
}

export interface JobSpec__Output {
  /**
   * [A-Za-z0-9_-], 1 to 64 characters
   */
  'name'?: (string);
  /**
   * endpoint, local to the workers or grpc://HOST:PORT/<endpoint>
   */
  'sender'?: (string);
  /**
   * one replication per receiver, in parallel (fan-out)
   */
  'receivers'?: (string)[];
  /**
   * glob on filesystem names (* and ?)
   */
  'filesystems'?: (string);
  /**
   * regular expressions on snapshot names
   */
  'includeSnapshots'?: (string);
  'excludeSnapshots'?: (string);
  /**
   * what to send to a receiver filesystem without versions: most_recent (default), all, fail
   */
  'initial'?: (string);
  /**
   * filesystems replicating at once per receiver; 0 = default (8)
   */
  'concurrency'?: (number);
  'batch'?: (boolean);
  /**
   * take a snapshot named <prefix>_<UTC time> (e.g. nightly_20260301T120000Z) of the sender before
   * each run; empty = no snapshot
   */
  'snapshotPrefix'?: (string);
  /**
   * absent: runs only when asked (RunJob, SignalJob WAKEUP)
   */
  'schedule'?: (_ferry_v1_Schedule__Output);
  'retry'?: (_ferry_v1_RetryPolicy__Output);
  /**
   * keep rules per side (docs/retention.md); absent, or a side without rules: nothing is pruned there
   */
  'retention'?: (_ferry_v1_Retention__Output);
  /**
   * the stream of every step: zfs send/receive flags and a bandwidth limit (docs/send-options.md)
   */
  'send'?: (_ferry_v1_SendOptions__Output);
}
