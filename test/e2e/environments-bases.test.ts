import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { hintPlaceholders } from '@idp/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_CONFIG, runCli, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from './secrets-fixtures.ts';

// Base environments as users meet them through the real `idp` binary: who owns them (the Group
// the config names) and what env:create --from proposes when the name is wrong. The config
// declares the bases but no PostgreSQL or Redis: nothing here needs them (the source is checked
// before any store), and so no shared database is seeded.

function configWithBases(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'idp-bases-'));
  const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  doc.delete('postgres');
  doc.delete('redis');
  doc.set(
    'environments',
    doc.createNode({
      base: {
        staging: { tier: 'staging', owner: 'platform', database: 'idp_bases_never_made', redisPrefix: 'bases:' },
        qa: { tier: 'development', owner: 'payments', redisPrefix: 'qa:' },
        production: { tier: 'production', owner: 'platform', database: 'idp_bases_prod_never_made' },
        unowned: { tier: 'development', redisPrefix: 'unowned:' },
      },
    }),
  );
  const locations = doc.getIn(['catalog', 'locations']) as { items: Array<{ value: string }> };
  for (const item of locations.items) item.value = resolve(dirname(ACME_CONFIG), item.value);
  const path = join(dir, 'idp.config.yaml');
  writeFileSync(path, doc.toString());
  return { dir, path };
}

describe('base environments through the CLI', () => {
  let server: TestServer;
  let config: { dir: string; path: string };
  const as: Record<string, Record<string, string>> = {};
  const idp = (user: string, ...args: string[]) => runCli(args, as[user]!);

  beforeAll(async () => {
    config = configWithBases();
    server = await startTestServer({ configPath: config.path, environmentTimers: false });
    const t = await userTokens(server, ['alice', 'frank']);
    for (const [u, token] of Object.entries(t)) as[u] = { IDP_URL: server.url, IDP_TOKEN: token };
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(config.dir, { recursive: true, force: true });
  });

  it('env:list and env:get show the Group the config names as the owner of a base environment', async () => {
    const list = await idp('alice', 'env:list', '--all');
    expect(list.code, list.stderr).toBe(0);
    const rows = Object.fromEntries(
      list.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s+/))
        .map(([name, kind, owner]) => [name, { kind, owner }]),
    );
    expect(rows).toEqual({
      staging: { kind: 'base', owner: 'group:platform' },
      qa: { kind: 'base', owner: 'group:payments' },
      production: { kind: 'base', owner: 'group:platform' },
      unowned: { kind: 'base', owner: '-' },
    });

    const get = await idp('alice', 'env:get', 'staging');
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toContain('owner: group:platform\n');
    const json = await idp('alice', 'env:get', 'qa', '-o', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ owner: 'group:payments', kind: 'base' });
  });

  it('env:create --from with a typo proposes only a base that may be cloned', async () => {
    const typo = await idp('alice', 'env:create', '--name=feature-x', '--from=stagin');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('ENV_SOURCE_INVALID');
    expect(typo.stderr).toContain('Did you mean --from=staging?');

    // "productio" is one edit from production, which nobody may clone: not proposed.
    const prod = await idp('alice', 'env:create', '--name=feature-x', '--from=productio');
    expect(prod.code).toBe(2);
    expect(prod.stderr).not.toMatch(/did you mean/i);
    expect(prod.stderr).toContain('Clone one of: staging, qa, unowned (production cannot be cloned by you).');
  });

  it('with no close match the hint says which bases exist and which may be cloned', async () => {
    const res = await idp('frank', 'env:create', '--name=feature-x', '--from=nothing-like-it');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('"nothing-like-it" is not a base environment that can be cloned');
    expect(res.stderr).toContain('Clone one of: staging, qa, unowned (production cannot be cloned by you).');
    expect(res.stderr).not.toMatch(/did you mean/i);
  });

  it('hints name the environment the error is about, with no placeholder left', async () => {
    const reserved = await idp('alice', 'env:create', '--name=staging', '--from=staging');
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain('ENV_NAME_RESERVED');
    expect(reserved.stderr).toContain('`idp env:create --name=feature-staging --from=staging`');
    const protectedBase = await idp('frank', 'env:delete', 'staging');
    expect(protectedBase.stderr).toContain('ENV_BASE_PROTECTED');
    expect(protectedBase.stderr).toContain('`idp env:create --name=feature-staging --from=staging`');
    for (const res of [reserved, protectedBase]) expect(hintPlaceholders(res.stderr)).toEqual([]);
  });
});
