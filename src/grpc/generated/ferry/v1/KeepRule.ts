// Original file: proto/ferry/v1/orchestrator.proto


/**
 * One keep rule; the fields its type uses are set, the others left empty (docs/retention.md).
 */
export interface KeepRule {
  /**
   * not_replicated, last_n, grid or regex
   */
  'type'?: (string);
  /**
   * last_n: how many
   */
  'count'?: (number);
  /**
   * grid: zrepl's syntax, e.g. "1x1h(keep=all) | 24x1h | 14x1d"
   */
  'grid'?: (string);
  /**
   * last_n, grid: only names it matches (empty: ferry's own snapshots); regex: the names it keeps
   */
  'regex'?: (string);
  /**
   * regex: keep the names it does not match
   */
  'negate'?: (boolean);
}

/**
 * One keep rule; the fields its type uses are set, the others left empty (docs/retention.md).
 */
export interface KeepRule__Output {
  /**
   * not_replicated, last_n, grid or regex
   */
  'type'?: (string);
  /**
   * last_n: how many
   */
  'count'?: (number);
  /**
   * grid: zrepl's syntax, e.g. "1x1h(keep=all) | 24x1h | 14x1d"
   */
  'grid'?: (string);
  /**
   * last_n, grid: only names it matches (empty: ferry's own snapshots); regex: the names it keeps
   */
  'regex'?: (string);
  /**
   * regex: keep the names it does not match
   */
  'negate'?: (boolean);
}
