import { invalidField, quote } from '../errors/index.js';

/** Pure: splits at commas outside parentheses (a grid's `(keep=all)` holds none, but stays whole). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth = Math.max(0, depth - 1);
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** `VALUE` or `VALUE:REGEX` (the first colon splits; regexes with commas need the JSON form) */
function withRegex(value: string): { value: string; regex?: string } {
  const colon = value.indexOf(':');
  return colon < 0 ? { value } : { value: value.slice(0, colon), regex: value.slice(colon + 1) };
}

/**
 * Pure: keep rules as the CLI takes them (`--keep-sender`, `--keep-receivers`), unvalidated (the
 * job spec's check names the field): a JSON list of rule objects, or the compact form
 * `not_replicated,last_n=10,grid=1x1h(keep=all)|24x1h|14x1d,regex=^manual_,!regex=^tmp_`
 * (`last_n=N:REGEX` and `grid=SPEC:REGEX` limit a rule to matching names).
 */
export function parseKeepRulesText(text: string, flag: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed;
    } catch (err) {
      throw invalidField(flag, `not a JSON list of keep rules: ${(err as Error).message}`);
    }
    throw invalidField(flag, 'not a JSON list of keep rules');
  }
  return splitTopLevel(trimmed).map((item) => {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    switch (key) {
      case 'not_replicated':
        return { type: 'not_replicated' };
      case 'last_n': {
        const { value: count, regex } = withRegex(value);
        return { type: 'last_n', count: /^\d+$/.test(count) ? Number(count) : count, ...(regex !== undefined ? { regex } : {}) };
      }
      case 'grid': {
        const { value: grid, regex } = withRegex(value);
        return { type: 'grid', grid, ...(regex !== undefined ? { regex } : {}) };
      }
      case 'regex':
        return { type: 'regex', regex: value };
      case '!regex':
        return { type: 'regex', regex: value, negate: true };
      default:
        throw invalidField(flag, `${quote(item)}: use not_replicated, last_n=N[:REGEX], grid=SPEC[:REGEX], regex=REGEX or !regex=REGEX, separated by commas (or a JSON list)`);
    }
  });
}
