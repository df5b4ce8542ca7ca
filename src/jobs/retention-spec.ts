import { parseRetentionPolicy, type RetentionPolicy } from '../retention/rules.js';

/**
 * A job spec's `retention` checked (InvalidArgumentError naming the rule's path, e.g.
 * `retention.sender[1].grid`); undefined when absent or when neither side has rules: no pruning.
 */
export function retentionOf(raw: unknown): RetentionPolicy | undefined {
  if (raw === undefined || raw === null) return undefined;
  const policy = parseRetentionPolicy(raw, 'retention');
  return policy.sender.length || policy.receivers.length ? policy : undefined;
}
