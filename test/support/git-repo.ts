// A bare git repository made from a map of files (and symbolic links), for tests that register
// or fetch from git: the files are committed on `branch` and pushed; call again to push more.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type RepoFiles = Record<string, string | Buffer | { link: string }>;

export const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    stdio: 'pipe',
  }).toString();

/** Commits `files` (the whole tree) on `branch` of the bare repository `bare`, made if missing; returns the commit. */
export function pushFiles(bare: string, files: RepoFiles, branch = 'main'): string {
  if (!existsSync(bare)) {
    mkdirSync(bare, { recursive: true });
    git(bare, 'init', '-q', '--bare', '-b', 'main');
  }
  const work = mkdtempSync(join(tmpdir(), 'idp-repo-work-'));
  try {
    git(work, 'init', '-q', '-b', branch);
    for (const [path, content] of Object.entries(files)) {
      const abs = join(work, path);
      mkdirSync(dirname(abs), { recursive: true });
      if (typeof content === 'object' && !Buffer.isBuffer(content)) symlinkSync(content.link, abs);
      else writeFileSync(abs, content);
    }
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', `files for ${branch}`);
    git(work, 'push', '-q', '--force', bare, `HEAD:refs/heads/${branch}`);
    return git(work, 'rev-parse', 'HEAD').trim();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
