// How the render sandbox process starts. The sandbox code (worker.ts, the engine, Nunjucks) is
// bundled once into one script that a fresh `node` reads from stdin under Node's permission
// model: no file may be read or written, no process or thread started, and its environment is
// empty. So even a template that found a way out of Nunjucks' lookups would reach nothing of
// the control plane. Where the bundler (esbuild, which tsx brings) is missing, the sandbox runs
// the TypeScript through tsx instead (worker-entry.js), without the permission model.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleScript, scriptOnce } from '../../../util/script-bundle.ts';
import { MAX_OUTPUT_ENV } from './protocol.ts';

export interface SandboxLimits {
  memoryMb: number;
  maxOutputChars: number;
  /** true: run the TypeScript through tsx, as where esbuild is missing (no permission model). */
  unbundled?: boolean;
}

/** The sandbox script, bundled ahead of time: the build of the CLI (scripts/build.ts) defines it. */
declare const IDP_SANDBOX_SCRIPT: string | undefined;

/** The sandbox as one CommonJS script (built on first use from source, about 0.1 s), or null without esbuild. */
const sandboxScript = scriptOnce(typeof IDP_SANDBOX_SCRIPT === 'string' ? IDP_SANDBOX_SCRIPT : undefined, (esbuild) =>
  bundleScript(esbuild, fileURLToPath(new URL('./worker.ts', import.meta.url))),
);

/** `--permission` from Node 22.13 on, `--experimental-permission` before. */
function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
}

/** Starts a sandbox process with an IPC channel; `confined` says whether the permission model holds it. */
export async function startSandbox(limits: SandboxLimits): Promise<{ child: ChildProcess; confined: boolean }> {
  const heap = [
    `--max-old-space-size=${limits.memoryMb}`,
    `--max-semi-space-size=${Math.max(1, Math.min(16, limits.memoryMb >> 3))}`,
    '--no-warnings',
  ];
  // Nothing of the control plane's environment (database URLs, tokens) reaches templates.
  const env = { [MAX_OUTPUT_ENV]: String(limits.maxOutputChars) };
  const script = limits.unbundled ? null : await sandboxScript();
  if (script !== null) {
    const child = spawn(process.execPath, [permissionFlag(), ...heap, '-'], {
      env,
      serialization: 'advanced',
      stdio: ['pipe', 'ignore', 'pipe', 'ipc'],
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(script);
    return { child, confined: true };
  }
  const child = fork(new URL('./worker-entry.js', import.meta.url), [], {
    execArgv: heap,
    env: { ...env, PATH: process.env.PATH ?? '' },
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  return { child, confined: false };
}
