import { execFile } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { IdpError } from '@idp/contracts';

/**
 * What `idp deploy` packages: a service directory of a git repository at a commit. Git runs
 * through execFile with an argument list (never a shell), so paths and refs are never parsed
 * as shell syntax, and refs that look like options are refused before git sees them.
 */

export interface DeploySource {
  /** The repository's top directory. */
  repo: string;
  /** The service directory inside the repository, with `/` separators; '' for the top itself. */
  dir: string;
  /** The full commit id --ref resolved to. */
  commit: string;
  /** The commit's committer time, in seconds since the epoch. */
  commitTime: number;
  /** `<dir>/.idp/deploy.yaml`, relative to the repository. */
  specPath: string;
  /** That file as committed, not as it is on disk. */
  specText: string;
}

/** Archives are held in memory to be uploaded; a service directory beyond this is a mistake. */
const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;

/**
 * Finds the repository around `path`, resolves `ref` to a commit and reads the service's
 * `.idp/deploy.yaml` at that commit. Every failure is a usage error (exit 2) that says what to fix.
 */
export async function resolveDeploySource(path: string, ref: string): Promise<DeploySource> {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw usage(
      `--path ${path} does not exist`,
      'Point --path at the service directory (the one holding .idp/deploy.yaml).',
    );
  }
  if (!statSync(real).isDirectory()) {
    throw usage(
      `--path ${path} is not a directory`,
      'Point --path at the service directory (the one holding .idp/deploy.yaml), not at a file.',
    );
  }
  const top = await git(real, ['rev-parse', '--show-toplevel']).catch((err: unknown) => {
    if (err instanceof IdpError) throw err;
    throw usage(
      `${path} is not inside a git repository`,
      'idp deploys what is committed: run it inside a git work tree (`git init`, commit the service), or pass --path.',
    );
  });
  const repo = realpathSync(top.toString('utf8').trim());
  const dir = relative(repo, real).split(sep).join('/');
  if (dir.startsWith('..'))
    throw usage(`${path} is outside the repository ${repo}`, 'Pass --path inside the repository.');

  if (ref === '' || ref.startsWith('-'))
    throw usage(`--ref "${ref}" is not a git ref`, 'Use a branch, tag or commit, e.g. --ref HEAD or --ref v1.2.0.');
  const commit = (
    await git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch((err: unknown) => {
      if (err instanceof IdpError) throw err;
      throw usage(
        `--ref ${ref} is not a commit in ${repo}`,
        'Use a branch, tag or commit that exists here (`git log --oneline` lists them); a new repository needs a first commit.',
      );
    })
  )
    .toString('utf8')
    .trim();
  const commitTime = Number((await git(repo, ['show', '-s', '--format=%ct', commit])).toString('utf8').trim());

  const specPath = dir === '' ? '.idp/deploy.yaml' : `${dir}/.idp/deploy.yaml`;
  const specText = (
    await git(repo, ['show', `${commit}:${specPath}`]).catch((err: unknown) => {
      if (err instanceof IdpError) throw err;
      const onDisk = existsSync(join(real, '.idp', 'deploy.yaml'));
      throw new IdpError(
        'DEPLOY_SPEC_INVALID',
        onDisk
          ? `${specPath} is not committed at ${shortCommit(commit)} (--ref ${ref}): idp deploys what is committed`
          : `there is no ${specPath} at ${shortCommit(commit)} (--ref ${ref})`,
        {
          file: specPath,
          hint: onDisk
            ? `Commit it (\`git add ${specPath} && git commit\`), then deploy again.`
            : 'Create .idp/deploy.yaml in the service directory (`idp deploy:schema` gives the JSON Schema for your editor), commit it, and run `idp deploy:validate`.',
        },
      );
    })
  ).toString('utf8');
  return { repo, dir, commit, commitTime, specPath, specText };
}

/**
 * `git archive --format=tar <commit>:<dir>`: the service directory as the archive's root.
 * Git stamps an archive of a tree with the current time; every entry gets the commit's time
 * instead, so the same commit always gives the same bytes and the server's content address
 * (the release version) does not change between two deploys of one commit.
 */
export async function archiveDeploySource(
  source: Pick<DeploySource, 'repo' | 'dir' | 'commit' | 'commitTime'>,
): Promise<Buffer> {
  const treeish = source.dir === '' ? `${source.commit}^{tree}` : `${source.commit}:${source.dir}`;
  const tar = await git(source.repo, ['archive', '--format=tar', treeish], MAX_ARCHIVE_BYTES);
  return setTarMtime(tar, source.commitTime);
}

/** Whether the work tree differs from HEAD under the service directory (tracked or untracked files). */
export async function hasUncommittedChanges(source: Pick<DeploySource, 'repo' | 'dir'>): Promise<boolean> {
  const out = await git(source.repo, ['status', '--porcelain', '--', source.dir === '' ? '.' : source.dir]);
  return out.length > 0;
}

export async function headCommit(repo: string): Promise<string | undefined> {
  try {
    return (await git(repo, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])).toString('utf8').trim();
  } catch (err) {
    if (err instanceof IdpError) throw err;
    return undefined;
  }
}

export function shortCommit(commit: string): string {
  return commit.slice(0, 12);
}

const BLOCK = 512;
const MTIME = { offset: 136, length: 12 };
const CHECKSUM = { offset: 148, length: 8 };

/**
 * Rewrites every header's mtime of a ustar archive (git's format) and its checksum; the
 * contents are untouched. Stops at the end-of-archive marker (a zeroed block).
 */
export function setTarMtime(tar: Buffer, mtimeSeconds: number): Buffer {
  const out = Buffer.from(tar);
  const mtime = `${Math.max(0, Math.floor(mtimeSeconds))
    .toString(8)
    .padStart(MTIME.length - 1, '0')}\0`;
  let offset = 0;
  while (offset + BLOCK <= out.length) {
    const header = out.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = parseOctal(header.subarray(124, 136));
    if (size === undefined || !isChecksumValid(header)) {
      throw new IdpError('INTERNAL', `git archive produced a tar header idp cannot read at byte ${offset}`, {
        hint: 'Run again with IDP_DEBUG=1 and report it to your platform team, with your git version (`git --version`).',
      });
    }
    header.write(mtime, MTIME.offset, MTIME.length, 'latin1');
    writeChecksum(header);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

function parseOctal(field: Buffer): number | undefined {
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]*$/.test(text)) return undefined;
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOf(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    const inChecksum = i >= CHECKSUM.offset && i < CHECKSUM.offset + CHECKSUM.length;
    sum += inChecksum ? 0x20 : header[i]!;
  }
  return sum;
}

function isChecksumValid(header: Buffer): boolean {
  return parseOctal(header.subarray(CHECKSUM.offset, CHECKSUM.offset + CHECKSUM.length)) === checksumOf(header);
}

function writeChecksum(header: Buffer): void {
  // Git's own layout: seven octal digits and a NUL.
  header.write(`${checksumOf(header).toString(8).padStart(7, '0')}\0`, CHECKSUM.offset, CHECKSUM.length, 'latin1');
}

/**
 * Runs git and resolves with its stdout. A git that is not installed is an IdpError; git's own
 * failures reject with a plain Error carrying its stderr, for the caller to turn into a message.
 */
function git(cwd: string, args: string[], maxBuffer = 16 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'git',
      args,
      { cwd, encoding: 'buffer', maxBuffer, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (err, stdout, stderr) => {
        if (!err) return resolvePromise(stdout);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return reject(
            usage(
              'git is not installed (or not on PATH)',
              'Install git: idp packages the service from its repository with `git archive`.',
            ),
          );
        }
        if (code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(
            usage(
              `the service directory is larger than ${maxBuffer / 1024 / 1024} MB in git`,
              'Keep build outputs and dependencies out of git (.gitignore); the release is built on the server.',
            ),
          );
        }
        reject(new Error(`git ${args[0]} failed: ${stderr.toString('utf8').trim()}`));
      },
    );
  });
}

function usage(message: string, hint: string): IdpError {
  return new IdpError('USAGE', message, { hint });
}

/**
 * The deploy.yaml that `idp deploy:validate PATH` reads: PATH itself when it is a file, else
 * `PATH/.idp/deploy.yaml` (or `PATH/deploy.yaml` when PATH is the `.idp` directory).
 */
export function findDeployFile(path: string): string {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new IdpError('USAGE', `${path} does not exist`, {
      hint: 'Pass the service directory or its .idp/deploy.yaml file.',
    });
  }
  if (stats.isFile()) return path;
  const candidates = [
    join(path, '.idp', 'deploy.yaml'),
    ...(basename(resolve(path)) === '.idp' ? [join(path, 'deploy.yaml')] : []),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found) return found;
  throw new IdpError('DEPLOY_SPEC_INVALID', `there is no .idp/deploy.yaml in ${path}`, {
    file: candidates[0]!,
    hint: 'Create .idp/deploy.yaml in the service directory (`idp deploy:schema` gives the JSON Schema for your editor), or pass the file itself.',
  });
}

/** A path as the person would type it: relative to the working directory when inside it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, resolve(path));
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}
