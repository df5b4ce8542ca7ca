import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { didYouMean, formatPath, locate, type ConfigPath, type ConfigProblem } from './problems.js';
import { CONFIG_SCHEMA, type ConfigFile } from './schema.js';

/** A config file read and checked against the schema. */
export interface ParsedConfig {
  doc: Document;
  lines: LineCounter;
  /** what the file holds, null when its syntax is broken; it matches ConfigFile except at `problems` */
  data: ConfigFile | null;
  problems: ConfigProblem[];
  /** true when a problem was found at `path` or inside it (its semantic checks would only repeat it) */
  hasProblemIn(path: ConfigPath): boolean;
  /** where a problem at `path` is, for the semantic checks that follow */
  problemAt(path: ConfigPath, message: string, atKey?: boolean): ConfigProblem;
}

const validate = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true }).compile<ConfigFile>(CONFIG_SCHEMA);

/** JSON pointer (/jobs/a b/receivers/0) to a path; digits index arrays. */
function pointerPath(pointer: string, data: unknown): ConfigPath {
  const out: ConfigPath = [];
  let at: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(at) ? Number(seg) : seg;
    out.push(key);
    at = (at as Record<string | number, unknown> | null)?.[key];
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = { object: 'a map', array: 'a list', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'empty' };

/** One ajv error in words a person acts on, with where it points; null for a summary ajv repeats. */
function describe(e: ErrorObject, data: unknown): { path: ConfigPath; message: string; atKey?: boolean } | null {
  const path = pointerPath(e.instancePath, data);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      // a key whose schema is `false` is known, but refused with its own message
      const known = Object.entries((e.parentSchema as { properties?: object }).properties ?? {}).filter(([, v]) => v !== false).map(([k]) => k);
      return { path: [...path, key], atKey: true, message: `unknown key "${key}"${didYouMean(key, known)}; allowed here: ${known.join(', ')}` };
    }
    case 'required':
      return { path, atKey: true, message: `missing required key "${String(p.missingProperty)}"` };
    case 'propertyNames':
    case 'false schema':
      return null;
    case 'type': {
      const types = ([] as string[]).concat(p.type as string | string[]).filter((t) => t !== 'null');
      return { path, message: `must be ${types.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}` };
    }
    case 'enum':
      return { path, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${didYouMean(String(e.data), (p.allowedValues as unknown[]).map(String))}` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'pattern':
      if (e.propertyName !== undefined) {
        return { path: [...path, e.propertyName], atKey: true, message: `"${e.propertyName}" is not a name: use 1 to 64 letters, digits, '_' or '-'` };
      }
      if ((e.parentSchema as { description?: string }).description) return { path, message: `${JSON.stringify(e.data)} is not ${(e.parentSchema as { description: string }).description}` };
      return { path, message: `must match ${String(p.pattern)}` };
    case 'uniqueItems':
      return { path: [...path, Number(p.i)], message: `repeats item ${String(p.j)}` };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/** Reads YAML text: syntax first (with positions), then the schema, every problem with its line. */
export function parseConfig(text: string): ParsedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problemAt = (path: ConfigPath, message: string, atKey = false): ConfigProblem => ({ ...locate(doc, lines, path, atKey), path: formatPath(path), message });
  const problems: ConfigProblem[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return { line: pos.line, col: pos.col, path: '', message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') };
  });
  const hasProblemIn = (path: ConfigPath): boolean => {
    const p = formatPath(path);
    return problems.some((q) => q.path === p || q.path.startsWith(`${p}.`) || q.path.startsWith(`${p}[`));
  };
  // a duplicate key leaves the rest readable; other syntax errors do not
  if (problems.length && doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { doc, lines, data: null, problems, problemAt, hasProblemIn };
  const data: unknown = doc.toJS() ?? {};
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      const d = describe(e, data);
      if (d) problems.push(problemAt(d.path, d.message, d.atKey));
    }
  }
  // not a map at all: nothing below can be read
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { doc, lines, data: null, problems, problemAt, hasProblemIn };
  return { doc, lines, data: data as ConfigFile, problems, problemAt, hasProblemIn };
}
