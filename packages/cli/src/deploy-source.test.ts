import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import {
  archiveDeploySource,
  displayPath,
  findDeployFile,
  hasUncommittedChanges,
  resolveDeploySource,
  setTarMtime,
} from './deploy-source.ts';

const SPEC =
  'service: {name: demo-api, team: payments}\nrun: {command: node server.js}\ndeploy: {strategy: rolling, healthcheck: {path: /health}}\n';

let root: string;
let repo: string;

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
      GIT_COMMITTER_DATE: '2025-03-01T12:00:00Z',
      GIT_AUTHOR_DATE: '2025-03-01T12:00:00Z',
    },
  }).trim();
}

/** Each entry's name and mtime, read from the ustar headers. */
function entries(tar: Buffer): Array<{ name: string; mtime: number }> {
  const out: Array<{ name: string; mtime: number }> = [];
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('latin1')
        .replace(/\0.*$/s, '')
        .trim();
    const size = parseInt(field(124, 12) || '0', 8);
    out.push({ name: field(0, 100), mtime: parseInt(field(136, 12), 8) });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'idp-deploy-source-'));
  repo = join(root, 'repo');
  mkdirSync(join(repo, 'services/demo-api/.idp'), { recursive: true });
  writeFileSync(join(repo, 'services/demo-api/.idp/deploy.yaml'), SPEC);
  writeFileSync(join(repo, 'services/demo-api/server.js'), 'console.log("hi")\n');
  writeFileSync(join(repo, 'README.md'), 'top\n');
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'first');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveDeploySource', () => {
  it('finds the repository, the service directory in it, the commit and the committed deploy.yaml', async () => {
    const source = await resolveDeploySource(join(repo, 'services/demo-api'), 'HEAD');
    expect(source).toMatchObject({
      dir: 'services/demo-api',
      commit: git('rev-parse', 'HEAD'),
      specPath: 'services/demo-api/.idp/deploy.yaml',
      specText: SPEC,
    });
    expect(source.commitTime).toBe(Date.parse('2025-03-01T12:00:00Z') / 1000);
  });

  it('reads deploy.yaml as committed, not as it is on disk', async () => {
    writeFileSync(join(repo, 'services/demo-api/.idp/deploy.yaml'), 'changed: true\n');
    try {
      const source = await resolveDeploySource(join(repo, 'services/demo-api'), 'HEAD');
      expect(source.specText).toBe(SPEC);
      expect(await hasUncommittedChanges(source)).toBe(true);
    } finally {
      writeFileSync(join(repo, 'services/demo-api/.idp/deploy.yaml'), SPEC);
    }
    expect(await hasUncommittedChanges(await resolveDeploySource(join(repo, 'services/demo-api'), 'HEAD'))).toBe(false);
  });

  it('refuses, as usage errors, a directory outside git, a ref that is not a commit, and a ref that looks like an option', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'idp-not-git-'));
    try {
      await expect(resolveDeploySource(outside, 'HEAD')).rejects.toMatchObject({
        code: 'USAGE',
        message: `${outside} is not inside a git repository`,
      });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
    await expect(resolveDeploySource(repo, 'no-such-branch')).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('--ref no-such-branch is not a commit'),
    });
    await expect(resolveDeploySource(repo, '--output=/tmp/x')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(resolveDeploySource(join(repo, 'nope'), 'HEAD')).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('does not exist'),
    });
  });

  it('says when there is no deploy.yaml at the ref', async () => {
    const err = await resolveDeploySource(repo, 'HEAD').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpError);
    expect(err).toMatchObject({
      code: 'DEPLOY_SPEC_INVALID',
      message: expect.stringContaining('there is no .idp/deploy.yaml at'),
    });
  });
});

describe('archiveDeploySource', () => {
  it('archives the service directory as the root, stamped with the commit time, the same bytes every time', async () => {
    const source = await resolveDeploySource(join(repo, 'services/demo-api'), 'HEAD');
    const first = await archiveDeploySource(source);
    // git stamps a tree archive with the current time (in seconds): in the next second it would differ.
    const second0 = Math.floor(Date.now() / 1000);
    await expect.poll(() => Math.floor(Date.now() / 1000), { timeout: 5000, interval: 50 }).toBeGreaterThan(second0);
    const second = await archiveDeploySource(source);
    expect(createHash('sha256').update(second).digest('hex')).toBe(createHash('sha256').update(first).digest('hex'));
    expect(entries(first).map((e) => e.name)).toEqual(['.idp/', '.idp/deploy.yaml', 'server.js']);
    expect(new Set(entries(first).map((e) => e.mtime))).toEqual(new Set([source.commitTime]));
    // A real tar reads it back.
    const listing = execFileSync('tar', ['-tvf', '-'], { input: first, encoding: 'utf8' });
    expect(listing).toContain('.idp/deploy.yaml');
    expect(listing).toContain('2025-03-01');
  });

  it('rewrites only the mtimes and checksums', () => {
    const tar = execFileSync('git', ['archive', '--format=tar', 'HEAD^{tree}'], { cwd: repo });
    const stamped = setTarMtime(tar, 1_700_000_000);
    expect(stamped.length).toBe(tar.length);
    expect(entries(stamped).map((e) => e.mtime)).toEqual(entries(tar).map(() => 1_700_000_000));
    expect(setTarMtime(stamped, 1_700_000_000).equals(stamped)).toBe(true);
    expect(() => setTarMtime(Buffer.concat([Buffer.from('not a tar'), Buffer.alloc(1024 - 9, 1)]), 0)).toThrow(
      IdpError,
    );
  });
});

describe('findDeployFile', () => {
  it('takes a service directory, its .idp directory or the file itself', () => {
    const dir = join(repo, 'services/demo-api');
    const file = join(dir, '.idp/deploy.yaml');
    expect([findDeployFile(dir), findDeployFile(join(dir, '.idp')), findDeployFile(file)]).toEqual([file, file, file]);
    expect(() => findDeployFile(repo)).toThrow(/no \.idp\/deploy\.yaml in/);
  });

  it('shows paths relative to the working directory when inside it', () => {
    expect(displayPath('/work/x/.idp/deploy.yaml', '/work/x')).toBe('.idp/deploy.yaml');
    expect(displayPath('/elsewhere/deploy.yaml', '/work/x')).toBe('/elsewhere/deploy.yaml');
  });
});
