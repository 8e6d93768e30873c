import semver from 'semver';
import { IdpError } from '@idp/contracts';
import type { DeclaredDeploySpec, DeploySpec } from './spec.ts';

/**
 * Build and run commands for a deploy.yaml that leaves `run.command` out, detected from the
 * release's files the way Heroku, Render and Cloud Native Buildpacks do, in this order:
 *
 * 1. a Procfile's `web:` line is the run command; the build comes from package.json only when
 *    it asks for one (a build script or dependencies);
 * 2. package.json with scripts.start runs `npm start`, built with `npm ci --omit=dev` when a
 *    lockfile (package-lock.json, npm-shrinkwrap.json) pins the dependencies, else
 *    `npm install --omit=dev`; with scripts.build, `npm ci && npm run build` (dev dependencies are
 *    needed to build) instead.
 *
 * A file that gives `run.command` is taken as written: nothing is inferred, not even the build
 * (a service that needs one writes `build:`), so declared files behave as they always did.
 * package.json's engines.node is reported whatever the file says, for a check against the
 * runtime's Node.js (`checkNodeEngine`). Pure: the caller reads the files (INFERENCE_FILES).
 */

/** The release files inference looks at, relative to the service directory. */
export const INFERENCE_FILES = ['Procfile', 'package.json', 'package-lock.json', 'npm-shrinkwrap.json'] as const;
export type InferenceFile = (typeof INFERENCE_FILES)[number];

/** The release's files as inference sees them: a file's text, or null when the release has none. */
export type ReleaseFiles = (path: InferenceFile) => string | null;

/** One thing idp worked out rather than read from deploy.yaml. */
export interface InferredNote {
  field: 'run' | 'build' | 'node';
  /** The command, or for `node` the engines.node range. */
  value: string;
  /** Where it came from, e.g. `package.json scripts.start`. */
  from: string;
}

export interface InferResult {
  spec: DeploySpec;
  inferred: InferredNote[];
  /** package.json's engines.node, when it has one. */
  nodeRange: string | null;
}

interface PackageJson {
  scripts: Record<string, string>;
  hasDependencies: boolean;
  engineNode: string | null;
}

/**
 * Fills `run` (and `build`, unless declared) from the release's files when deploy.yaml leaves the
 * run command out; throws DEPLOY_RUN_NOT_INFERRED when nothing matches.
 */
export function inferDeploySpec(declared: DeclaredDeploySpec, files: ReleaseFiles): InferResult {
  const pkgText = files('package.json');
  const pkg = pkgText === null ? null : readPackageJson(pkgText);
  const nodeRange = pkg && pkg !== 'invalid' ? pkg.engineNode : null;
  const inferred: InferredNote[] = [];
  const finish = (run: string, build: { command: string } | null): InferResult => {
    if (nodeRange !== null) inferred.push({ field: 'node', value: nodeRange, from: 'package.json engines.node' });
    return {
      spec: { ...declared, build, run: { command: run, replicas: declared.run.replicas } },
      inferred,
      nodeRange,
    };
  };
  if (declared.run.command !== null) return finish(declared.run.command, declared.build);

  const lockfile = (['package-lock.json', 'npm-shrinkwrap.json'] as const).find((f) => files(f) !== null) ?? null;
  const usable = pkg !== null && pkg !== 'invalid' ? pkg : null;
  const inferBuild = (wanted: boolean): { command: string } | null => {
    if (declared.build) return declared.build;
    if (!usable || !wanted) return null;
    const build = packageBuild(usable, lockfile);
    inferred.push({ field: 'build', ...build });
    return { command: build.value };
  };

  const web = files('Procfile') === null ? null : procfileWeb(files('Procfile')!);
  if (web !== null) {
    inferred.push({ field: 'run', value: web, from: 'Procfile web:' });
    return finish(web, inferBuild(usable !== null && (usable.hasDependencies || 'build' in usable.scripts)));
  }
  if (usable && typeof usable.scripts.start === 'string') {
    inferred.push({ field: 'run', value: 'npm start', from: 'package.json scripts.start' });
    return finish('npm start', inferBuild(true));
  }
  throw runNotInferred(files('Procfile') !== null, pkg);
}

/** `npm ci --omit=dev`, `npm install --omit=dev` or `npm ci && npm run build`, with where it came from. */
function packageBuild(pkg: PackageJson, lockfile: string | null): { value: string; from: string } {
  const install = lockfile ? 'npm ci' : 'npm install';
  if (typeof pkg.scripts.build === 'string')
    return { value: `${install} && npm run build`, from: 'package.json scripts.build' };
  return { value: `${install} --omit=dev`, from: lockfile ?? 'package.json, no lockfile' };
}

/** The command of a Procfile's `web:` process, or null when it has none. */
export function procfileWeb(text: string): string | null {
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*web\s*:\s*(.*?)\s*$/.exec(line);
    if (m && m[1]) return m[1];
  }
  return null;
}

function readPackageJson(text: string): PackageJson | 'invalid' {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'invalid';
  const record = data as Record<string, unknown>;
  const scripts: Record<string, string> = {};
  if (typeof record.scripts === 'object' && record.scripts !== null) {
    for (const [name, value] of Object.entries(record.scripts)) if (typeof value === 'string') scripts[name] = value;
  }
  const deps = record.dependencies;
  const engines = record.engines;
  const engineNode =
    typeof engines === 'object' && engines !== null && typeof (engines as Record<string, unknown>).node === 'string'
      ? ((engines as Record<string, unknown>).node as string).trim() || null
      : null;
  return {
    scripts,
    hasDependencies: typeof deps === 'object' && deps !== null && Object.keys(deps).length > 0,
    engineNode,
  };
}

function runNotInferred(hasProcfile: boolean, pkg: PackageJson | 'invalid' | null): IdpError {
  const found: string[] = [];
  if (hasProcfile) found.push('a Procfile without a web: line');
  if (pkg === 'invalid') found.push('a package.json that is not a JSON object');
  else if (pkg) found.push('a package.json without scripts.start');
  return new IdpError(
    'DEPLOY_RUN_NOT_INFERRED',
    `.idp/deploy.yaml has no run command and none could be inferred: looked for a Procfile with a web: line and a package.json with scripts.start, found ${found.length ? found.join(' and ') : 'neither'}`,
    {
      field: 'run.command',
      lookedFor: ['Procfile (web: line)', 'package.json (scripts.start)'],
      hint: 'Add `run: {command: node server.js}` (your start command) to .idp/deploy.yaml, or a Procfile with `web: node server.js`, or a "start" script in package.json.',
    },
  );
}

export type NodeCheck =
  | { status: 'ok'; range: string; version: string }
  | { status: 'excluded'; range: string; version: string }
  | { status: 'unreadable'; range: string; version: string };

/** Whether `version` (e.g. `v20.20.2`) satisfies engines.node `range`; `unreadable` when it is not a semver range. */
export function checkNodeEngine(range: string, version: string): NodeCheck {
  if (semver.validRange(range) === null || semver.valid(semver.clean(version)) === null)
    return { status: 'unreadable', range, version };
  return {
    status: semver.satisfies(semver.clean(version)!, range, { includePrerelease: true }) ? 'ok' : 'excluded',
    range,
    version,
  };
}

/** DEPLOY_NODE_UNSUPPORTED for a range that excludes the runtime's version; undefined otherwise. */
export function nodeEngineError(check: NodeCheck): IdpError | undefined {
  if (check.status !== 'excluded') return undefined;
  return new IdpError(
    'DEPLOY_NODE_UNSUPPORTED',
    `package.json wants Node.js ${check.range} (engines.node), but the runtime has ${check.version}`,
    {
      field: 'engines.node',
      wanted: check.range,
      available: check.version,
      hint: `Widen engines.node in package.json to include ${check.version} (e.g. ">=${semver.major(semver.clean(check.version)!)}"), or ask the platform team for a runtime with Node.js ${check.range}.`,
    },
  );
}

/**
 * One line per note, as `idp deploy:validate` and `idp deploy` print them:
 * `run: npm start (inferred from package.json scripts.start)`,
 * `node: >=20 (from package.json engines; runtime has v20.20.2)`.
 */
export function formatInferred(note: InferredNote, runtimeNode?: string): string {
  switch (note.field) {
    case 'run':
    case 'build':
      return `${note.field}: ${note.value} (inferred from ${note.from})`;
    case 'node':
      return `node: ${note.value} (from package.json engines${runtimeNode ? `; runtime has ${runtimeNode}` : ''})`;
    default:
      return unknownNote(note.field);
  }
}

function unknownNote(field: never): never {
  throw new Error(`unknown inferred field ${String(field)}`);
}
