// Code that runs apart from the control plane's modules — the render sandbox (a child process) and
// the catalog's ingest worker (a worker thread) — as one CommonJS script bundled by esbuild: the
// build of the CLI bundles each ahead of time and defines it as a constant; a run from source
// bundles it on first use.
import type * as Esbuild from 'esbuild';

export interface ScriptBundle {
  text: string;
  /** The files it was made of, for the build's freshness check. */
  inputs: string[];
}

/** `entry` and what it imports as one CommonJS script for node 20, in memory. */
export async function bundleScript(
  esbuild: typeof Esbuild,
  entry: string,
  options: Esbuild.BuildOptions = {},
): Promise<ScriptBundle> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    ...options,
  });
  const text = result.outputFiles?.[0]?.text;
  if (text === undefined) throw new Error(`the bundle of ${entry} is empty`);
  return { text, inputs: Object.keys(result.metafile?.inputs ?? {}) };
}

/**
 * The script as the build defined it (`built`), else bundled from source on first use and kept;
 * null where it cannot be had (a run from source without esbuild).
 */
export function scriptOnce(
  built: string | undefined,
  bundle: (esbuild: typeof Esbuild) => Promise<ScriptBundle>,
): () => Promise<string | null> {
  let script: Promise<string | null> | undefined = built === undefined ? undefined : Promise.resolve(built);
  return () =>
    (script ??= (async () => {
      try {
        return (await bundle(await import('esbuild'))).text;
      } catch {
        return null;
      }
    })());
}
