import { describe, expect, it } from 'vitest';
import { parseEntityRef, parseRepoUrl, pick, projectSlug } from './filters.ts';

// Backstage's filters on their own (the renderer's tests use them through real templates).

describe('parseRepoUrl and projectSlug', () => {
  it("reads Backstage's host?owner=o&repo=r format", () => {
    expect(parseRepoUrl('github.com?owner=acme&repo=payments')).toEqual({
      host: 'github.com',
      owner: 'acme',
      repo: 'payments',
    });
    expect(parseRepoUrl('git.acme.test:8443?repo=r&owner=o&organization=org&project=p')).toEqual({
      host: 'git.acme.test:8443',
      owner: 'o',
      repo: 'r',
      organization: 'org',
      project: 'p',
    });
    expect(parseRepoUrl('bitbucket.org?workspace=w&project=p&repo=r')).toMatchObject({ workspace: 'w', repo: 'r' });
    expect(projectSlug('github.com?owner=acme&repo=payments')).toBe('acme/payments');
    expect(projectSlug('bitbucket.org?workspace=w&project=p&repo=r')).toBe('w/r');
  });

  it('says what is missing', () => {
    expect(() => parseRepoUrl('github.com?owner=acme')).toThrow(/has no repo/);
    expect(() => parseRepoUrl('github.com?repo=r')).toThrow(/has no owner/);
    expect(() => parseRepoUrl(undefined)).toThrow(/expected a repo URL/);
    expect(() => parseRepoUrl('exa mple.com?owner=o&repo=r')).toThrow(/invalid repo URL/);
  });
});

describe('parseEntityRef', () => {
  it('reads [kind:][namespace/]name with defaults', () => {
    expect(parseEntityRef('component:default/payments')).toEqual({
      kind: 'component',
      namespace: 'default',
      name: 'payments',
    });
    expect(parseEntityRef('group:platform')).toEqual({ kind: 'group', namespace: 'default', name: 'platform' });
    expect(parseEntityRef('alice', { defaultKind: 'user' })).toEqual({
      kind: 'user',
      namespace: 'default',
      name: 'alice',
    });
    expect(parseEntityRef('ops/alice', { defaultKind: 'user', defaultNamespace: 'x' })).toEqual({
      kind: 'user',
      namespace: 'ops',
      name: 'alice',
    });
    expect(parseEntityRef('alice', { defaultKind: 'user', defaultNamespace: 'people' }).namespace).toBe('people');
  });

  it('refuses refs it cannot read', () => {
    expect(() => parseEntityRef('alice')).toThrow(/no kind/);
    expect(() => parseEntityRef('a:b/c/d')).toThrow(/not of the form/);
    expect(() => parseEntityRef('')).toThrow(/expected an entity ref/);
  });
});

describe('pick', () => {
  it('answers own properties only', () => {
    expect(pick({ a: 1 }, 'a')).toBe(1);
    expect(pick({ a: 1 }, 'constructor')).toBeUndefined();
    expect(pick({ a: 1 }, '__proto__')).toBeUndefined();
    expect(pick('str', 'length')).toBeUndefined();
  });
});
