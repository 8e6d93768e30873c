import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSharedGitRepo, sharedGitRootsOf } from './shared-git.ts';
import { readsServerFiles } from './sources.ts';

const dir = mkdtempSync(join(tmpdir(), 'idp-shared-git-'));
const root = join(dir, 'shared');
mkdirSync(join(root, 'team/orders.git'), { recursive: true });
mkdirSync(join(dir, 'private.git'));
symlinkSync(dir, join(root, 'escape'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shared git repositories (publish:git file:// remotes)', () => {
  const roots = sharedGitRootsOf([`file://${root}/`, 'https://git.example.com/acme/']);

  it('takes the file:// prefixes only', () => {
    expect(roots).toEqual([root]);
  });

  it('a repository under a root is shared: any user may register it as a git location', () => {
    expect(isSharedGitRepo(`file://${root}/team/orders.git`, roots)).toBe(true);
    expect(readsServerFiles('git', `file://${root}/team/orders.git#main`, roots)).toBe(false);
    expect(readsServerFiles('git', `file://${root}/team/orders.git#main`)).toBe(true);
  });

  it('anything else on the disk stays a server file, however it is spelled', () => {
    for (const repo of [
      `file://${dir}/private.git`,
      `file://${root}`,
      `file://${root}/`,
      `file://${root}/../private.git`,
      `file://${root}/team/./orders.git`,
      `file://${root}/%2e%2e/private.git`,
      `file://${root}/escape/private.git`,
      `file://${root}/missing.git`,
      `file://host${root}/team/orders.git`,
      `${root}/team/orders.git`,
    ]) {
      expect(isSharedGitRepo(repo, roots), repo).toBe(false);
      expect(readsServerFiles('git', repo, roots), repo).toBe(true);
    }
  });
});
