/**
 * The architecture's boundaries (issue 14, README's layout):
 *  - protocol/ is the boundary: it imports only vscode-languageserver-protocol (and its own files);
 *  - common/ (pure helpers both sides need) imports only itself and protocol/;
 *  - the extension (client/src) and the webviews (media/src) import none of the server: only protocol/,
 *    common/ and their own files;
 *  - no import cycles among the TypeScript sources.
 * Imports are read with TypeScript's own scanner (ts.preProcessFile), type-only imports included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(__dirname, '..', '..');
const rel = (f: string) => relative(root, f).split(sep).join('/');

function tsFiles(dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const e of readdirSync(abs)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const f = join(abs, e);
    if (statSync(f).isDirectory()) out.push(...tsFiles(rel(f)));
    else if (f.endsWith('.ts') && !f.endsWith('.d.ts')) out.push(f);
  }
  return out;
}

/** The import specifiers of a file: static imports, re-exports, import() and require(). */
function specifiers(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** A relative specifier resolved to a .ts file (as the bundler resolution does), else null. */
function resolveRelative(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  for (const c of [base, `${base}.ts`, join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile() && c.endsWith('.ts')) return c;
  return null;
}

const inside = (file: string, dir: string) => rel(file) === dir || rel(file).startsWith(dir + '/');

interface Rule {
  dir: string;
  /** folders (repository-relative) its relative imports may reach */
  allowed: string[];
  /** package imports allowed (null: any) */
  packages: ((name: string) => boolean) | null;
}

const rules: Rule[] = [
  { dir: 'protocol', allowed: ['protocol'], packages: (p) => p === 'vscode-languageserver-protocol' },
  { dir: 'common', allowed: ['common', 'protocol'], packages: () => false },
  // client/src also reads the JSON Schemas of the stored files (docs/*.schema.json): data, not server code
  { dir: 'client/src', allowed: ['client/src', 'protocol', 'common', 'package.json', 'docs'], packages: null },
  { dir: 'media/src', allowed: ['media/src', 'protocol', 'common'], packages: () => false },
];

test('protocol/, common/, client/src and media/src import only across the allowed boundaries', () => {
  const problems: string[] = [];
  for (const rule of rules) {
    const files = tsFiles(rule.dir);
    assert.ok(files.length > 0, `no .ts files under ${rule.dir}`);
    for (const f of files) {
      for (const spec of specifiers(f)) {
        if (spec.startsWith('.')) {
          const target = resolveRelative(f, spec) ?? resolve(dirname(f), spec);
          if (!rule.allowed.some((d) => inside(target, d))) problems.push(`${rel(f)} imports ${spec} (${rel(target)})`);
        } else if (rule.packages && !rule.packages(spec)) {
          problems.push(`${rel(f)} imports the package ${spec}`);
        }
      }
    }
  }
  assert.deepEqual(problems, [], `imports across a boundary:\n${problems.join('\n')}`);
});

test('protocol/ and common/ use no Node built-in and no DOM-only module', () => {
  const problems: string[] = [];
  for (const dir of ['protocol', 'common']) {
    for (const f of tsFiles(dir)) {
      for (const spec of specifiers(f))
        if (spec.startsWith('node:') || spec === 'fs' || spec === 'path') problems.push(`${rel(f)} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

/** Every cycle among the sources, each as a path a → b → … → a (one per strongly connected component, shortest found). */
function importCycles(dirs: string[]): string[][] {
  const files = dirs.flatMap(tsFiles);
  const graph = new Map<string, string[]>();
  for (const f of files)
    graph.set(f, [
      ...new Set(
        specifiers(f)
          .map((s) => resolveRelative(f, s))
          .filter((t): t is string => t !== null),
      ),
    ]);
  // Tarjan's strongly connected components
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(comp);
    }
  };
  for (const f of [...graph.keys()].sort()) if (!idx.has(f)) visit(f);
  // one concrete cycle per component: breadth-first from its first file back to itself
  return sccs.map((comp) => {
    const set = new Set(comp);
    const start = [...comp].sort()[0];
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | null = null;
    while (queue.length && end === null) {
      const v = queue.shift()!;
      for (const w of graph.get(v) ?? []) {
        if (!set.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end; v !== null && v !== start; v = prev.get(v) ?? null) path.splice(1, 0, v);
    return [...path, start].map(rel);
  });
}

test('no import cycles among client/src, server/src, media/src, protocol, common, tools', () => {
  const cycles = importCycles(['client/src', 'server/src', 'media/src', 'protocol', 'common', 'tools']);
  assert.deepEqual(
    cycles.map((c) => c.join(' → ')),
    [],
    `import cycles:\n${cycles.map((c) => c.join(' → ')).join('\n')}`,
  );
});
