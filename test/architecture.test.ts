import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The layering of docs/architecture.md, checked on the import graph of src/ and machines/. The
 * imports are read with the TypeScript parser (a devDependency already): static imports,
 * `export … from`, `import type`, `import('…')` with a literal, and `import('…')` types.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NODE_MODULES = new Set(builtinModules);

/** The layer order: the backticked folders that open each numbered line of the "Layers" section. */
function layerRanks(): Map<string, number> {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Layers\n'));
  assert.ok(section, 'docs/architecture.md has no "## Layers" section');
  const ranks = new Map<string, number>();
  for (const m of section.matchAll(/^(\d+)\. ((?:`[^`]+`(?:, )?)+)/gm)) {
    for (const [, folder] of m[2].matchAll(/`([^`]+?)\/?`/g)) ranks.set(folder, Number(m[1]));
  }
  assert.ok(ranks.size > 0, 'no numbered folder lines in the "Layers" section of docs/architecture.md');
  return ranks;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier the file names, in order. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The .ts file a relative specifier names (`./x.js` is ./x.ts; a folder is its index.ts). */
function resolveRelative(from: string, spec: string): string {
  const target = resolve(dirname(from), spec);
  if (existsSync(target) && statSync(target).isDirectory()) return join(target, 'index.ts');
  return target.replace(/\.js$/, '.ts');
}

/** `machines`, or `src/<folder>` */
function folderOf(file: string): string {
  const parts = relative(ROOT, file).split(sep);
  return parts[0] === 'machines' ? 'machines' : parts.slice(0, 2).join('/');
}

interface Graph {
  files: string[];
  /** file -> the files of the tree it imports */
  edges: Map<string, Set<string>>;
  /** file -> the package and node: specifiers it imports */
  external: Map<string, string[]>;
}

function importGraph(): Graph {
  const files = [...tsFiles(join(ROOT, 'machines')), ...tsFiles(join(ROOT, 'src'))].sort();
  const edges = new Map<string, Set<string>>();
  const external = new Map<string, string[]>();
  for (const f of files) {
    const local = new Set<string>();
    const ext: string[] = [];
    for (const spec of specifiers(f)) {
      if (!spec.startsWith('.')) {
        ext.push(spec);
        continue;
      }
      const target = resolveRelative(f, spec);
      // a file naming itself (generated types of a recursive message: Run holds Runs) is no cycle
      if (target !== f) local.add(target);
    }
    edges.set(f, local);
    external.set(f, ext);
  }
  return { files, edges, external };
}

const rel = (f: string) => relative(ROOT, f).split(sep).join('/');

/** "a.ts -> b.ts" per import from a folder in `from` to a folder `to` accepts. */
function offending(g: Graph, bad: (from: string, to: string) => boolean): string[] {
  const out: string[] = [];
  for (const [f, targets] of g.edges) {
    for (const t of targets) if (bad(folderOf(f), folderOf(t))) out.push(`${rel(f)} -> ${rel(t)}`);
  }
  return out;
}

/** Each import cycle between files once, as a path that returns to its start (strongly connected components, Tarjan). */
function fileCycles(g: Graph): string[] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  for (const f of g.files) if (!index.has(f)) connect(f);
  // one concrete cycle per component: walk from its first file within the component back to it
  return components.map((c) => {
    const members = new Set(c);
    const start = c[c.length - 1];
    const path = [start];
    const seen = new Set([start]);
    const walk = (v: string): boolean => {
      for (const w of g.edges.get(v) ?? []) {
        if (w === start) return true;
        if (!members.has(w) || seen.has(w)) continue;
        seen.add(w);
        path.push(w);
        if (walk(w)) return true;
        path.pop();
      }
      return false;
    };
    walk(start);
    return [...path, start].map(rel).join(' -> ');
  });
}

describe('architecture: the layers of docs/architecture.md', () => {
  const ranks = layerRanks();
  const g = importGraph();
  const rankOf = (folder: string) => ranks.get(folder);

  it('ranks every folder that src/ and machines/ hold or import', () => {
    const folders = new Set(g.files.map(folderOf));
    for (const targets of g.edges.values()) for (const t of targets) folders.add(folderOf(t));
    const unranked = [...folders].filter((f) => rankOf(f) === undefined).sort();
    assert.deepEqual(unranked, [], `folders missing from the "Layers" list of docs/architecture.md: ${unranked.join(', ')}`);
  });

  it('every relative import names a file that exists', () => {
    const missing: string[] = [];
    for (const [f, targets] of g.edges) for (const t of targets) if (!existsSync(t)) missing.push(`${rel(f)} -> ${rel(t)}`);
    assert.deepEqual(missing, [], `imports of files that do not exist:\n  ${missing.join('\n  ')}`);
  });

  it('every import across folders goes to a lower rank (within a rank: one way only)', () => {
    const folderPairs = new Set<string>();
    for (const [f, targets] of g.edges) for (const t of targets) folderPairs.add(`${folderOf(f)} ${folderOf(t)}`);
    const up = offending(g, (a, b) => a !== b && rankOf(b)! > rankOf(a)!).map((e) => `${e} (upward)`);
    const mutual = offending(g, (a, b) => a !== b && rankOf(a) === rankOf(b) && folderPairs.has(`${b} ${a}`)).map((e) => `${e} (both ways within a rank)`);
    const problems = [...up, ...mutual];
    assert.deepEqual(problems, [], `imports against the layer order of docs/architecture.md:\n  ${problems.join('\n  ')}`);
  });

  it('has no import cycles between files', () => {
    const cycles = fileCycles(g);
    assert.deepEqual(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
  });

  it('machines/ imports nothing from src/ and no Node module', () => {
    const intoSrc = offending(g, (a, b) => a === 'machines' && b !== 'machines');
    const node: string[] = [];
    for (const [f, specs] of g.external) {
      if (folderOf(f) !== 'machines') continue;
      for (const s of specs) if (s.startsWith('node:') || NODE_MODULES.has(s.split('/')[0])) node.push(`${rel(f)} -> ${s}`);
    }
    const problems = [...intoSrc, ...node];
    assert.deepEqual(problems, [], `machines/ must stay pure:\n  ${problems.join('\n  ')}`);
  });

  it('src/engine imports no domain, transport or upper folder (it takes connection, logger and metrics as arguments)', () => {
    const forbidden = new Set(['observability', 'storage', 'replication', 'archiver', 'jobs', 'health', 'service', 'api', 'cli', 'grpc'].map((f) => `src/${f}`));
    const problems = offending(g, (a, b) => a === 'src/engine' && forbidden.has(b));
    assert.deepEqual(problems, [], `src/engine must stay generic:\n  ${problems.join('\n  ')}`);
  });
});
