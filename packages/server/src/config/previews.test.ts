import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from './schema.ts';
import { previewRepository, resolveSecretRef } from './previews.ts';

describe('config: previews', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-previews-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults: no secret (the webhook is not configured), api.github.com, 1 MiB, no repositories', () => {
    expect(ConfigSchema.parse({}).previews).toEqual({
      github: { previousWebhookSecrets: [], apiUrl: 'https://api.github.com', maxBodyKiB: 1024 },
      repositories: {},
    });
  });

  it('a repository gets its defaults; its name is found whatever the case', () => {
    const cfg = ConfigSchema.parse({
      previews: { repositories: { 'acme/payments': { cloneUrl: 'file:///srv/git/payments', team: 'payments' } } },
    }).previews;
    expect(cfg.repositories['acme/payments']).toEqual({
      cloneUrl: 'file:///srv/git/payments',
      base: 'staging',
      ttl: '3d',
      maxOpen: 10,
      team: 'payments',
      labels: { optOut: 'no-preview', trust: 'preview-trusted' },
      drafts: false,
      placeholders: {},
    });
    expect(previewRepository(cfg, 'ACME/Payments')?.name).toBe('acme/payments');
    expect(previewRepository(cfg, 'acme/other')).toBeUndefined();
  });

  it('refuses a secret written inline, a bad repository name, a team that is not a Group name, unknown keys', () => {
    const bad = [
      { github: { webhookSecret: 'hunter2' } },
      { github: { token: { env: 'X', value: 'y' } } },
      { repositories: { 'not-a-repo': { cloneUrl: 'file:///x', team: 'payments' } } },
      { repositories: { 'a/b': { cloneUrl: 'file:///x', team: 'Payments Team' } } },
      { repositories: { 'a/b': { cloneUrl: '/srv/git/x', team: 'payments' } } },
      { repositories: { 'a/b': { cloneUrl: 'file:///x', team: 'payments', ttl: 'forever' } } },
      { github: { maxBodyKiB: 0 } },
      { webhooks: {} },
    ];
    for (const previews of bad)
      expect(ConfigSchema.safeParse({ previews }).success, JSON.stringify(previews)).toBe(false);
  });

  it('secret references: an environment variable, or a file only its owner may read', () => {
    expect(resolveSecretRef({ env: 'S' }, { S: 'v1' })).toBe('v1');
    expect(resolveSecretRef({ env: 'S' }, {})).toBeUndefined();
    const file = join(dir, 'secret');
    writeFileSync(file, 'from-file\n');
    chmodSync(file, 0o600);
    expect(resolveSecretRef({ file })).toBe('from-file');
    chmodSync(file, 0o640);
    expect(() => resolveSecretRef({ file })).toThrow(/readable by others/);
    expect(resolveSecretRef({ file: join(dir, 'missing') })).toBeUndefined();
  });
});
