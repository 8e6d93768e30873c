import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchHead } from './git-fetch.ts';

const opts = { timeoutMs: 20_000, maxArchiveBytes: 8 * 1024 * 1024 };
let root = '';
let repo = '';
let prSha = '';
let newerSha = '';

function g(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    env: {
      PATH: process.env.PATH,
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@x',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@x',
    },
  })
    .toString()
    .trim();
}

function write(path: string, body: string): void {
  mkdirSync(join(repo, path, '..'), { recursive: true });
  writeFileSync(join(repo, path), body);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'idp-git-fetch-test-'));
  repo = join(root, 'repo');
  mkdirSync(repo);
  g('init', '-q', '-b', 'main');
  write('api/.idp/deploy.yaml', 'service: api\n');
  write('api/server.js', 'v1\n');
  write('web/.idp/deploy.yml', 'service: web\n');
  write('README.md', 'x\n');
  g('add', '-A');
  g('commit', '-q', '-m', 'base');
  g('checkout', '-q', '-b', "feature/$(id);'x'");
  write('api/server.js', 'v2\n');
  g('commit', '-q', '-am', 'pr');
  prSha = g('rev-parse', 'HEAD');
  g('update-ref', 'refs/pull/7/head', prSha);
  write('api/server.js', 'v3\n');
  g('commit', '-q', '-am', 'newer');
  newerSha = g('rev-parse', 'HEAD');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fetchHead', () => {
  it("fetches refs/pull/<n>/head, finds the services and packs one folder at the pull request's commit", async () => {
    const head = await fetchHead(`file://${repo}`, 7, prSha, opts);
    try {
      expect(await head.services()).toEqual(['api', 'web']);
      const tar = await head.archive('api');
      expect(tar.includes(Buffer.from('v2\n'))).toBe(true);
      expect(tar.includes(Buffer.from('v1\n'))).toBe(false);
      expect((await head.archive('api')).equals(tar)).toBe(true);
      expect(await head.readFile('api/.idp/deploy.yaml')).toBe('service: api\n');
      expect(await head.readFile('api/missing.yaml')).toBeNull();
      expect(await head.readFile('../x')).toBeNull();
      await expect(head.archive('../etc')).rejects.toMatchObject({ code: 'PREVIEW_SOURCE_UNAVAILABLE' });
    } finally {
      await head.dispose();
    }
  });

  it('fetches a commit newer than the ref by its id', async () => {
    const head = await fetchHead(`file://${repo}`, 7, newerSha, opts);
    try {
      expect((await head.archive('api')).includes(Buffer.from('v3\n'))).toBe(true);
    } finally {
      await head.dispose();
    }
  });

  it('a head commit that does not exist, or a repository that cannot be fetched, is PREVIEW_SOURCE_UNAVAILABLE', async () => {
    await expect(fetchHead(`file://${repo}`, 7, 'f'.repeat(40), opts)).rejects.toMatchObject({
      code: 'PREVIEW_SOURCE_UNAVAILABLE',
      message: expect.stringMatching(/ffffffffffff of pull request #7 could not be fetched/),
    });
    await expect(fetchHead(`file://${root}/missing`, 7, prSha, opts)).rejects.toMatchObject({
      code: 'PREVIEW_SOURCE_UNAVAILABLE',
    });
    await expect(fetchHead(`file://${repo}`, 7, '--upload-pack=touch /tmp/x', opts)).rejects.toMatchObject({
      code: 'PREVIEW_SOURCE_UNAVAILABLE',
    });
  });
});
