import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import {
  configDir,
  credentialsPath,
  readCredentials,
  removeCredentials,
  resolveConnection,
  writeCredentials,
} from './credentials.ts';

describe('configDir', () => {
  it('prefers IDP_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configDir({ IDP_CONFIG_DIR: '/x/idp', XDG_CONFIG_HOME: '/xdg' })).toBe('/x/idp');
    expect(configDir({ XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/idp');
    expect(configDir({})).toMatch(/\.config\/idp$/);
    expect(credentialsPath({ IDP_CONFIG_DIR: '/x/idp' })).toBe('/x/idp/config.json');
  });
});

describe('the login file', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-creds-'));
    env = { IDP_CONFIG_DIR: join(dir, 'nested', 'idp') };
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips, with the directory 0700 and the file 0600', () => {
    const path = writeCredentials({ url: 'http://idp.test', token: 'idp_x' }, env);

    expect(readCredentials(env)).toEqual({ url: 'http://idp.test', token: 'idp_x' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(configDir(env)).mode & 0o777).toBe(0o700);
  });

  it('is absent before login and after logout', () => {
    expect(readCredentials(env)).toBeUndefined();
    expect(removeCredentials(env)).toBe(false);
    writeCredentials({ url: 'http://idp.test', token: 'idp_x' }, env);
    expect(removeCredentials(env)).toBe(true);
    expect(readCredentials(env)).toBeUndefined();
  });

  it('warns when others can read it', () => {
    const path = writeCredentials({ url: 'http://idp.test', token: 'idp_x' }, env);
    chmodSync(path, 0o644);
    const warnings: string[] = [];

    readCredentials(env, (line) => warnings.push(line));

    expect(warnings).toEqual([expect.stringContaining(`chmod 600 ${path}`)]);
  });

  it('names itself when it is not a login file', () => {
    writeCredentials({ url: 'http://idp.test', token: 'idp_x' }, env);
    writeFileSync(credentialsPath(env), '{"url": 1}');

    expect(() => readCredentials(env)).toThrow(IdpError);
    expect(() => readCredentials(env)).toThrow(credentialsPath(env));
  });
});

describe('resolveConnection', () => {
  const stored = { url: 'https://idp.acme.test', token: 'idp_saved' };

  it('uses the login file, else the default URL', () => {
    expect(resolveConnection({}, stored)).toEqual(stored);
    expect(resolveConnection({}, undefined)).toEqual({ url: 'http://localhost:7070' });
  });

  it('lets IDP_URL and IDP_TOKEN override field by field', () => {
    expect(resolveConnection({ IDP_TOKEN: 'idp_env' }, stored)).toEqual({ url: stored.url, token: 'idp_env' });
    expect(resolveConnection({ IDP_URL: 'https://idp.acme.test/' }, stored)).toEqual({
      url: 'https://idp.acme.test/',
      token: 'idp_saved',
    });
  });

  it('never sends the saved token to a different control plane', () => {
    expect(resolveConnection({ IDP_URL: 'https://evil.test' }, stored)).toEqual({ url: 'https://evil.test' });
  });
});
