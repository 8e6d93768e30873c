// Finds import cycles among a package's own modules (type-only imports and re-exports count: a
// cycle through `import type` still ties the files together for a reader). Run it directly
// (`npx tsx scripts/import-cycles.ts [dir…]`, default every package and provider; exit 1 on a
// cycle) or through its unit test (packages/server/src/import-cycles.test.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Every .ts file under `dir` except tests and declaration files. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'node_modules') out.push(...sourceFiles(path));
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

/** The relative imports of each file, resolved to files in the graph (imports of packages are left out). */
export function importGraph(dir: string): Map<string, string[]> {
  const files = sourceFiles(resolve(dir));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => resolve(dirname(file), spec))
      .map((target) =>
        known.has(target)
          ? target
          : known.has(`${target}.ts`)
            ? `${target}.ts`
            : known.has(join(target, 'index.ts'))
              ? join(target, 'index.ts')
              : undefined,
      )
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The strongly connected components with more than one module, or a module importing itself (Tarjan). */
export function importCycles(dir: string): string[][] {
  const graph = importGraph(dir);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component.map((f) => relative(dir, f)).sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(import.meta.dirname, '..');
  const packages = ['packages', 'providers'].flatMap((group) =>
    readdirSync(join(root, group)).map((name) => `${group}/${name}/src`),
  );
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : packages;
  let found = 0;
  for (const dir of dirs) {
    for (const cycle of importCycles(resolve(root, dir))) {
      found++;
      process.stdout.write(`${dir}: import cycle through ${cycle.length} modules:\n  ${cycle.join('\n  ')}\n`);
    }
  }
  if (found === 0) process.stdout.write(`no import cycles in ${dirs.join(', ')}\n`);
  process.exitCode = found ? 1 : 0;
}
