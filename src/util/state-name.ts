/**
 * Pure: an XState state value as one name: `Working`, or `Parent.Child` for nested states
 * (`{ Parent: 'Child' }`). Used for transition events, metrics, reports and views alike.
 */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [k, v] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    return k === undefined ? '' : v && typeof v === 'object' ? `${k}.${stateName(v)}` : `${k}.${String(v)}`;
  }
  return String(value);
}
