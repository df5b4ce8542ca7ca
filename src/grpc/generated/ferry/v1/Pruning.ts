// Original file: proto/ferry/v1/orchestrator.proto


/**
 * One pruning machine of an invocation (docs/retention.md, Pruning runs).
 */
export interface Pruning {
  /**
   * the machine id, `<invocation>.prune-sender` or `<invocation>.prune-to-<i>`
   */
  'id'?: (string);
  /**
   * sender or receiver
   */
  'side'?: (string);
  'endpoint'?: (string);
  /**
   * Pending, Plan, PlanErr, Exec, ExecErr, Done, PermanentError
   */
  'state'?: (string);
  /**
   * snapshots destroyed so far (a dry run: that would be destroyed)
   */
  'destroyed'?: (number);
  /**
   * snapshots kept, known once planned
   */
  'kept'?: (number);
  'problem'?: (string);
}

/**
 * One pruning machine of an invocation (docs/retention.md, Pruning runs).
 */
export interface Pruning__Output {
  /**
   * the machine id, `<invocation>.prune-sender` or `<invocation>.prune-to-<i>`
   */
  'id'?: (string);
  /**
   * sender or receiver
   */
  'side'?: (string);
  'endpoint'?: (string);
  /**
   * Pending, Plan, PlanErr, Exec, ExecErr, Done, PermanentError
   */
  'state'?: (string);
  /**
   * snapshots destroyed so far (a dry run: that would be destroyed)
   */
  'destroyed'?: (number);
  /**
   * snapshots kept, known once planned
   */
  'kept'?: (number);
  'problem'?: (string);
}
