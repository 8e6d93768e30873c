// `npm run build`: bundles the CLI and the control plane (every workspace package and the
// pure-JavaScript dependencies) into packages/cli/dist/, so `idp` starts without transpiling
// TypeScript. The root package.json's `dependencies` are what stays outside the bundle (native
// and WebAssembly modules): exactly what an installed package (`npm pack`) needs beside it.
// dist/build-info.json records every source file read; bin/idp.js runs the build only while all
// of them are unchanged (packages/cli/bin/build-state.js). `--if-stale` skips a current build.
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BUILD_INFO, DIST, ROOT, buildState, fileStamp } from '../packages/cli/bin/build-state.js';
import { bundleIngestWorker } from '../packages/server/src/capabilities/catalog/ingest-worker-bundle.ts';
import { bundleScript, type ScriptBundle } from '../packages/server/src/util/script-bundle.ts';

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  oclif?: { commands?: unknown };
}

const readJson = (rel: string): PackageJson => JSON.parse(readFileSync(join(ROOT, rel), 'utf8')) as PackageJson;
const WORKSPACES = [
  'packages/cli',
  'packages/client',
  'packages/contracts',
  'packages/core',
  'packages/server',
  'providers/postgres',
  'providers/redis',
  'providers/runtime-local',
];
const requireFromRoot = createRequire(join(ROOT, 'package.json'));
const SANDBOX_WORKER = 'packages/server/src/capabilities/templates/render/worker.ts';

/** Module names that stay external: the root's runtime dependencies (checked against the workspaces). */
function externals(): string[] {
  const root = readJson('package.json').dependencies ?? {};
  for (const ws of WORKSPACES) {
    for (const [name, version] of Object.entries(readJson(`${ws}/package.json`).dependencies ?? {})) {
      if (name in root && root[name] !== version) {
        throw new Error(`${ws} depends on ${name}@${version}, the root package.json on ${root[name]}: make them equal`);
      }
    }
  }
  // esbuild: only the source run bundles the render sandbox at run time (the build ships it bundled);
  // typescript: oclif reads a tsconfig only to transpile, which idp turns off (src/main.ts).
  return [...Object.keys(root), 'esbuild', 'tsx', 'typescript'];
}

/**
 * Our sources use their own location (import.meta.url) to find the repository's files
 * (policies/, examples/acme/, package.json) and each other; in the bundle each keeps its
 * source path, relative to the bundle, which sits at packages/cli/dist/ in the repository
 * and in the installed package alike.
 */
const sourceLocations: esbuild.Plugin = {
  name: 'idp-source-locations',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const rel = relative(ROOT, args.path).split('\\').join('/');
      if (rel.startsWith('..') || rel.includes('node_modules/')) return undefined;
      const text = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.url', `__idpSourceUrl(${JSON.stringify(rel)})`)
        .replaceAll('import.meta.dirname', `__idpSourceDir(${JSON.stringify(dirname(rel))})`);
      return { contents: text, loader: 'ts' };
    });
  },
};

/**
 * Packages whose modules only declare (schemas, constants): a module none of whose exports is
 * used is left out, so the CLI's start-up does not build every API schema to read an error code.
 */
const DECLARATIONS_ONLY = ['packages/contracts/src/'];

const declarationsOnly: esbuild.Plugin = {
  name: 'idp-declarations-only',
  setup(build) {
    build.onResolve({ filter: /^(@idp\/contracts$|\.)/ }, async (args) => {
      if (args.pluginData === 'idp-declarations-only') return undefined;
      const { path, pluginData, ...rest } = args;
      void pluginData;
      const resolved = await build.resolve(path, { ...rest, pluginData: 'idp-declarations-only' });
      if (resolved.errors.length > 0) return undefined;
      const rel = relative(ROOT, resolved.path).split('\\').join('/');
      return DECLARATIONS_ONLY.some((d) => rel.startsWith(d)) ? { ...resolved, sideEffects: false } : resolved;
    });
  },
};

/**
 * `await import('yaml')` of a CommonJS package: split into a chunk, esbuild would give it only a
 * default export, where Node gives its named exports too. A small ES module in between names them.
 */
const dynamicCommonJs: esbuild.Plugin = {
  name: 'idp-dynamic-commonjs',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind !== 'dynamic-import' || args.path.startsWith('@idp/')) return undefined;
      if (externals().includes(args.path)) return undefined;
      return { path: args.path, namespace: 'idp-dynamic-commonjs' };
    });
    build.onLoad({ filter: /.*/, namespace: 'idp-dynamic-commonjs' }, (args) => {
      const names = Object.keys(requireFromRoot(args.path) as object).filter(
        (n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default' && n !== '__esModule',
      );
      const contents = [
        `import m from ${JSON.stringify(args.path)};`,
        `export const { ${names.join(', ')} } = m;`,
        'export default m;',
      ].join('\n');
      return { contents, loader: 'js', resolveDir: ROOT };
    });
  },
};

// Every output file (entry and chunks, all in dist/) starts with these: CommonJS dependencies
// bundled into ES modules still call require() and read __dirname.
const BANNER = [
  "import { createRequire as __idpCreateRequire } from 'node:module';",
  "import { fileURLToPath as __idpFileURLToPath } from 'node:url';",
  'const require = __idpCreateRequire(import.meta.url);',
  'const __filename = __idpFileURLToPath(import.meta.url);',
  "const __dirname = __idpFileURLToPath(new URL('.', import.meta.url));",
  "const __idpSourceUrl = (p) => new URL('../../../' + p, import.meta.url).href;",
  "const __idpSourceDir = (p) => __idpFileURLToPath(new URL('../../../' + p, import.meta.url));",
].join('\n');

function buildSandbox(): Promise<ScriptBundle> {
  return bundleScript(esbuild, SANDBOX_WORKER, { absWorkingDir: ROOT, logLevel: 'warning' });
}

async function buildCli(sandbox: string, catalogWorker: string): Promise<string[]> {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    // main: what every start needs (oclif); idp: the commands, which oclif imports to run one.
    entryPoints: { main: 'packages/cli/src/main.ts', idp: 'packages/cli/src/commands/index.ts' },
    outdir: DIST,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    chunkNames: 'chunk-[hash]',
    external: externals(),
    banner: { js: BANNER },
    define: {
      IDP_SANDBOX_SCRIPT: JSON.stringify(sandbox),
      IDP_CATALOG_WORKER_SCRIPT: JSON.stringify(catalogWorker),
      IDP_BUILD: 'true',
    },
    plugins: [dynamicCommonJs, declarationsOnly, sourceLocations],
    metafile: true,
    legalComments: 'none',
    minify: true,
    keepNames: true,
    logLevel: 'warning',
  });
  return Object.keys(result.metafile.inputs);
}

/**
 * oclif's root for the build: the CLI's package.json naming the bundle as the commands' module,
 * and the commands' manifest (their flags and help), which oclif would otherwise compute from
 * every command class at each start.
 */
async function writeOclifRoot(): Promise<void> {
  const cli = readJson('packages/cli/package.json');
  const pjson = {
    name: cli.name,
    version: cli.version,
    type: 'module',
    oclif: { ...cli.oclif, commands: { strategy: 'explicit', target: './idp.js', identifier: 'COMMANDS' } },
  };
  writeFileSync(join(DIST, 'package.json'), `${JSON.stringify(pjson, null, 2)}\n`);
  // Loading the plugin at DIST imports the bundle's commands and computes their manifest.
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({ root: DIST, isRoot: true });
  await plugin.load();
  const manifest = plugin.manifest;
  if (!manifest || Object.keys(manifest.commands).length === 0)
    throw new Error('oclif found no commands in the bundle');
  writeFileSync(join(DIST, 'oclif.manifest.json'), `${JSON.stringify(manifest)}\n`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--if-stale') && buildState().state === 'current') return;
  const started = performance.now();
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  const sandbox = await buildSandbox();
  // The catalog's ingest worker (a worker thread) runs from a script of its own, like the sandbox.
  const catalogWorker = await bundleIngestWorker(esbuild);
  const cli = await buildCli(sandbox.text, catalogWorker.text);
  await writeOclifRoot();
  const files = new Set(
    [...sandbox.inputs, ...catalogWorker.inputs, ...cli]
      .filter((f) => !f.includes('node_modules/') && !f.includes(':'))
      .concat('package.json', 'package-lock.json', 'scripts/build.ts', ...WORKSPACES.map((ws) => `${ws}/package.json`)),
  );
  // node_modules changes come with npm, which rewrites its own lock: one stat stands for them all.
  files.add('node_modules/.package-lock.json');
  const inputs = [...files].sort().map((rel) => {
    const stamp = fileStamp(rel);
    if (stamp === null) throw new Error(`build input ${rel} is missing`);
    return stamp;
  });
  writeFileSync(BUILD_INFO, `${JSON.stringify({ builtAt: new Date().toISOString(), inputs })}\n`);
  const ms = Math.round(performance.now() - started);
  process.stderr.write(`idp: built packages/cli/dist (${inputs.length} inputs) in ${ms} ms\n`);
}

await main();
