import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { parseConfig } from './load.ts';
import { ConfigSchema } from './schema.ts';

// previews.github.app: a GitHub App's id, its key as a reference, an optional installation; one
// credential only, the token or the App.

const FILE = '/etc/idp/idp.config.yaml';

function failure(fn: () => unknown): IdpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof IdpError) return err;
    throw err;
  }
  throw new Error('expected a CONFIG_INVALID');
}

describe('config: previews.github.app', () => {
  it('an App id (or client id), the key as a reference and an optional installation id', () => {
    const github = ConfigSchema.parse({
      previews: { github: { app: { appId: 123, privateKey: { file: '/etc/idp/app.pem' }, installationId: 9 } } },
    }).previews.github;
    expect(github.app).toEqual({ appId: 123, privateKey: { file: '/etc/idp/app.pem' }, installationId: 9 });
    expect(
      ConfigSchema.parse({ previews: { github: { app: { appId: 'Iv23liABC', privateKey: { env: 'K' } } } } }).previews
        .github.app,
    ).toEqual({ appId: 'Iv23liABC', privateKey: { env: 'K' } });
  });

  it('refuses a key written inline, a missing key, a bad id or installation, unknown keys', () => {
    const bad = [
      { appId: 1, privateKey: '-----BEGIN RSA PRIVATE KEY-----' },
      { appId: 1 },
      { appId: 0, privateKey: { env: 'K' } },
      { appId: 'app one', privateKey: { env: 'K' } },
      { appId: 1, privateKey: { env: 'K' }, installationId: -1 },
      { appId: 1, privateKey: { env: 'K' }, clientSecret: { env: 'S' } },
    ];
    for (const app of bad)
      expect(ConfigSchema.safeParse({ previews: { github: { app } } }).success, JSON.stringify(app)).toBe(false);
  });

  it('a token and an App both set is CONFIG_INVALID at previews.github.app, saying to keep one', () => {
    const text = [
      'previews:',
      '  github:',
      '    token: { env: IDP_GITHUB_TOKEN }',
      '    app:',
      '      appId: 123',
      '      privateKey: { env: IDP_GITHUB_APP_KEY }',
      '',
    ].join('\n');
    const err = failure(() => parseConfig(text, FILE));
    expect(err).toMatchObject({
      code: 'CONFIG_INVALID',
      details: { file: FILE, field: 'previews.github.app', line: 5 },
    });
    expect(err.message).toContain('set token or app, not both');
  });
});
