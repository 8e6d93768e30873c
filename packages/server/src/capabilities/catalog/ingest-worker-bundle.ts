// The ingest worker (ingest-worker.ts) as one CommonJS script: the build of the CLI bundles it ahead
// of time (scripts/build.ts), a run from source on first use. Only what the worker imports is kept:
// our sources declare nothing at load time, so a module none of whose exports it uses is left out.
import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';
import type * as Esbuild from 'esbuild';
import { bundleScript, type ScriptBundle } from '../../util/script-bundle.ts';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./ingest-worker.ts', import.meta.url));

/** Our packages' sources: bundled without their load-time effects (there are none the worker needs). */
const sourcesWithoutEffects: Esbuild.Plugin = {
  name: 'idp-ingest-worker-sources',
  setup(build) {
    build.onResolve({ filter: /^(@idp\/|\.)/ }, async (args) => {
      if (args.pluginData === 'idp-ingest-worker-sources') return undefined;
      const { path, pluginData: _p, ...rest } = args;
      const resolved = await build.resolve(path, { ...rest, pluginData: 'idp-ingest-worker-sources' });
      if (resolved.errors.length > 0) return undefined;
      const rel = relative(ROOT, resolved.path).split(sep).join('/');
      const ours = rel.startsWith('packages/') && !rel.includes('node_modules/');
      return ours && resolved.path !== ENTRY ? { ...resolved, sideEffects: false } : resolved;
    });
  },
};

export function bundleIngestWorker(esbuild: typeof Esbuild): Promise<ScriptBundle> {
  return bundleScript(esbuild, ENTRY, {
    absWorkingDir: ROOT,
    minify: true,
    keepNames: true,
    legalComments: 'none',
    // Native and WebAssembly modules never reach the worker; left out should an import name them.
    external: ['better-sqlite3', 'pg', '@cedar-policy/cedar-wasm', 'esbuild'],
    plugins: [sourcesWithoutEffects],
  });
}
