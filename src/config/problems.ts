import { closest, distance } from 'fastest-levenshtein';
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { InvalidArgumentError } from '../errors/index.js';

/** A key or an index on the way from the file's top to a value. */
export type ConfigPath = Array<string | number>;

/** One thing wrong with a config file, where a person finds it. */
export interface ConfigProblem {
  /** 1-based; 0 when the problem is about the whole file (it could not be read) */
  line: number;
  col: number;
  /** as a person reads it: jobs.home.receivers[0].agent ("" for the file itself) */
  path: string;
  message: string;
}

/** The path as a person reads it: jobs.home.receivers[0]; odd keys quoted. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** `file:line:col: path: message`, the form editors and CI logs link to. */
export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line ? `${file}:${p.line}:${p.col}` : file;
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** ` (did you mean "x"?)` when one of `known` is a likely typo of `word`, else "". */
export function didYouMean(word: string, known: readonly string[]): string {
  if (!known.length) return '';
  const best = closest(word, [...known]);
  // a typo: a few edits, and fewer than half the word changed
  const d = distance(word, best);
  return d <= Math.max(2, Math.floor(best.length / 3)) && d < Math.max(word.length, best.length) ? ` (did you mean "${best}"?)` : '';
}

function keyOf(node: unknown): unknown {
  return isScalar(node) ? node.value : node;
}

/**
 * Where `path` is in the parsed file: the node it names, or the deepest node on its way that
 * exists (a missing key points at the map that lacks it). `atKey`: the key of the last segment,
 * not its value (for an unknown key).
 */
export function locate(doc: Document, lines: LineCounter, path: ConfigPath, atKey = false): { line: number; col: number } {
  let node: unknown = doc.contents;
  let at: [number, number, number] | undefined = (node as Node | null)?.range ?? undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && String(keyOf(p.key)) === String(seg));
      if (!pair) break;
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      if ((atKey && i === path.length - 1) || !value?.range) {
        at = key?.range ?? at;
        if (!value?.range) break;
      } else at = value.range;
      node = value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg];
      at = (node as Node).range ?? at;
    } else break;
  }
  if (!at) return { line: 1, col: 1 };
  const pos = lines.linePos(at[0]);
  return { line: pos.line, col: pos.col };
}

/** Every problem of a config file that failed its check (details.problems), for the CLI to print. */
export class ConfigInvalidError extends InvalidArgumentError {
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(file, p)}`).join('\n')}`, {
      code: 'INVALID_CONFIG', details: { problems },
    });
  }
}
