import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ACME_CONFIG, ROOT, api, startTestServer } from '../support/server.ts';

/** A copy of the demo org whose config points at extra policy files. */
function orgWithPolicies(policies: Record<string, string>, replaceDefaults: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'idp-policies-'));
  cpSync(join(ROOT, 'examples/acme'), dir, { recursive: true });
  for (const [name, text] of Object.entries(policies)) writeFileSync(join(dir, name), text);
  const cfg = readFileSync(ACME_CONFIG, 'utf8')
    .replace(
      'paths: []',
      `paths: [${Object.keys(policies)
        .map((n) => `./${n}`)
        .join(', ')}]`,
    )
    .replace('replaceDefaults: false', `replaceDefaults: ${replaceDefaults}`);
  writeFileSync(join(dir, 'idp.config.yaml'), cfg);
  return dir;
}

describe('policies from the config', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("adds the platform team's policies to the defaults: a forbid overrides the admin permit", async () => {
    const dir = orgWithPolicies(
      { 'freeze.cedar': '@id("no-new-tokens")\nforbid (principal, action == Action::"token:create", resource);\n' },
      false,
    );
    dirs.push(dir);
    const server = await startTestServer({ configPath: join(dir, 'idp.config.yaml') });
    try {
      const res = await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'alice@company.com' });
      expect(res.status).toBe(403);
      expect(res.json.error.details.forbiddenBy).toEqual(['freeze/no-new-tokens']);
      // The defaults still apply to everything else.
      expect((await api(server, server.adminToken, 'GET', '/api/audit')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('replaces the defaults when replaceDefaults is true', async () => {
    const dir = orgWithPolicies(
      {
        'only.cedar':
          '@id("tokens-only")\npermit (principal in Role::"admin", action == Action::"token:create", resource);\n',
      },
      true,
    );
    dirs.push(dir);
    const server = await startTestServer({ configPath: join(dir, 'idp.config.yaml') });
    try {
      expect(server.services.gate.engine.policyIds).toEqual(['only/tokens-only']);
      expect((await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'alice@company.com' })).status).toBe(
        201,
      );
      const audit = await api(server, server.adminToken, 'GET', '/api/audit');
      expect(audit.status).toBe(403);
      expect(audit.json.error.code).toBe('POLICY_DENIED');
    } finally {
      await server.stop();
    }
  });
});
