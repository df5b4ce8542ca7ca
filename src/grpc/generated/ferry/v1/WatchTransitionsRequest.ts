// Original file: proto/ferry/v1/orchestrator.proto


export interface WatchTransitionsRequest {
  /**
   * only these machine kinds (job, replication, filesystem, partition); empty = all
   */
  'kinds'?: (string)[];
  /**
   * only these machines and their descendants (`<id>` and `<id>.*`); empty = all
   */
  'machineIds'?: (string)[];
  /**
   * resume after this event id; "" = from now; "0" = from the oldest kept
   */
  'afterId'?: (string);
}

export interface WatchTransitionsRequest__Output {
  /**
   * only these machine kinds (job, replication, filesystem, partition); empty = all
   */
  'kinds'?: (string)[];
  /**
   * only these machines and their descendants (`<id>` and `<id>.*`); empty = all
   */
  'machineIds'?: (string)[];
  /**
   * resume after this event id; "" = from now; "0" = from the oldest kept
   */
  'afterId'?: (string);
}
