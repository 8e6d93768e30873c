import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { IdpError } from '@idp/contracts';
import type { DeclaredDeploySpec, DeployProblem, InferenceFile, InferredNote, NodeCheck } from '@idp/core';
import { loadDeployCore } from './deploy-format.ts';

/**
 * What `idp deploy:validate` works out offline the way the control plane does on upload: the run
 * and build commands deploy.yaml leaves out, from the service directory's files, and package.json's
 * engines.node against the Node.js on this machine (the local runtime's, when the control plane
 * runs here). The control plane's own inference, from the release it receives, is the one that counts.
 */
export interface LocalInference {
  /** The spec with run (and build) filled in, or null when run could not be inferred. */
  spec: DeclaredDeploySpec | null;
  inferred: InferredNote[];
  /** engines.node against `node --version`; null when package.json has no engines.node. */
  node: NodeCheck | null;
  /** DEPLOY_RUN_NOT_INFERRED as a problem of the file, when it applies. */
  problem: DeployProblem | null;
}

/** The service directory of a deploy.yaml: the parent of its `.idp` folder, else its own folder. */
export function serviceDirOf(deployFile: string): string {
  const dir = dirname(resolve(deployFile));
  return basename(dir) === '.idp' ? dirname(dir) : dir;
}

/** A file of the service directory as text; null when it is missing or not a regular file. */
function readLocal(dir: string, file: InferenceFile): string | null {
  const path = join(dir, file);
  try {
    if (!lstatSync(path).isFile()) return null;
    // Lockfiles only need to exist; they can be megabytes.
    return file === 'package-lock.json' || file === 'npm-shrinkwrap.json' ? '' : readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** `node --version` as a command would see it here; this process's own version when that fails. */
export function localNodeVersion(): string {
  try {
    const out = execFileSync('node', ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
    return /^v\d+\.\d+\.\d+/.test(out) ? out : process.version;
  } catch {
    return process.version;
  }
}

export async function inferLocally(
  declared: DeclaredDeploySpec,
  deployFile: string,
  label: string,
  at: { line: number; column: number },
): Promise<LocalInference> {
  const core = await loadDeployCore();
  const dir = serviceDirOf(deployFile);
  try {
    const result = core.inferDeploySpec(declared, (file) => readLocal(dir, file));
    const node = result.nodeRange === null ? null : core.checkNodeEngine(result.nodeRange, localNodeVersion());
    return { spec: result.spec, inferred: result.inferred, node, problem: null };
  } catch (err) {
    if (!(err instanceof IdpError) || err.code !== 'DEPLOY_RUN_NOT_INFERRED') throw err;
    return {
      spec: null,
      inferred: [],
      node: null,
      problem: {
        file: label,
        ...at,
        field: 'run.command',
        message: `is not given and none could be inferred: ${err.message.replace(/^.*?none could be inferred: /, '')}`,
        expected: 'a run command, or a Procfile with a web: line, or a package.json with scripts.start',
        hint: String(err.details.hint),
      },
    };
  }
}
