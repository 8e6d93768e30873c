import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTestServer, type TestServer } from '../support/server.ts';

// The deploy commands through the real `idp` executable. deploy:validate and deploy:schema need
// no server; the catalog check runs against a real control plane with the acme catalog. `idp
// deploy` itself runs against the real control plane in test/e2e/deployments.test.ts.

const PAYMENTS_DIR = 'examples/acme/services/payments-api';
const notLoggedIn = () => ({
  IDP_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'idp-deploy-nologin-')),
  IDP_URL: undefined,
  IDP_TOKEN: undefined,
});

const BROKEN = [
  '# a deploy.yaml with three mistakes',
  'service: {name: payments-api, team: payments}',
  'run: {command: node server.js, replicas: 2}',
  'deploy:',
  '  strategy: canary',
  '  canary:',
  '    - weight: 10',
  '      pause: 5m',
  '    - weight: 150',
  '  helthcheck: {path: /health, interval: 10s, threshold: 3}',
  '  rollback: {auto: true, on_error_rate: "1 percent"}',
  '',
].join('\n');

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'idp-deploy-cli-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('idp deploy:validate and deploy:schema (no server)', () => {
  it("passes the demo service's deploy.yaml, saying which service, team and strategy, and notes the skipped catalog check", async () => {
    const [byDir, byFile] = await Promise.all([
      runCli(['deploy:validate', PAYMENTS_DIR], notLoggedIn()),
      runCli(['deploy:validate', `${PAYMENTS_DIR}/.idp/deploy.yaml`, '-o', 'json'], notLoggedIn()),
    ]);
    expect(byDir.code, byDir.stderr).toBe(0);
    expect(byDir.stdout).toBe(
      `✓ ${PAYMENTS_DIR}/.idp/deploy.yaml is valid (service payments-api, team payments, strategy canary 10% for 5m → 50% for 10m → 100%)\n`,
    );
    expect(byDir.stderr).toContain('skipped the catalog check of service and team: not logged in');

    expect(byFile.code, byFile.stderr).toBe(0);
    const result = JSON.parse(byFile.stdout);
    expect(result).toMatchObject({
      valid: true,
      problems: [],
      catalogChecked: false,
      spec: { service: { name: 'payments-api', team: 'payments' }, deploy: { strategy: 'canary' } },
    });
  });

  it('reports every problem of a broken file with line:column and "did you mean", and exits 2', async () => {
    const dir = join(scratch, 'broken');
    mkdirSync(join(dir, '.idp'), { recursive: true });
    const file = join(dir, '.idp', 'deploy.yaml');
    writeFileSync(file, BROKEN);

    const [table, json] = await Promise.all([
      runCli(['deploy:validate', dir], notLoggedIn()),
      runCli(['deploy:validate', file, '--output', 'json'], notLoggedIn()),
    ]);

    expect(table.code).toBe(2);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toContain(
      `${file}:10:3  deploy.helthcheck: unknown key "helthcheck" (expected one of strategy, canary, healthcheck, rollback) did you mean "healthcheck"?`,
    );
    expect(lines).toContain(
      `${file}:9:15  deploy.canary[1].weight: 150 is above 100 (expected an integer from 1 to 100, greater than the previous step)`,
    );
    expect(
      lines.some((l) =>
        l.startsWith(`${file}:11:41  deploy.rollback.on_error_rate: "1 percent" is not an error-rate threshold`),
      ),
    ).toBe(true);
    expect(table.stderr).toMatch(/^Error \[DEPLOY_SPEC_INVALID\]: .*deploy\.yaml has \d+ problems\nTry this: /m);
    // The catalog is only asked about a file that is valid by itself.
    expect(table.stderr).not.toContain('catalog');

    expect(json.code).toBe(2);
    const result = JSON.parse(json.stdout);
    expect(result.valid).toBe(false);
    expect(result.spec).toBeNull();
    expect(result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ line: 10, column: 3, field: 'deploy.helthcheck', didYouMean: 'healthcheck' }),
        expect.objectContaining({ line: 9, column: 15, field: 'deploy.canary[1].weight' }),
        expect.objectContaining({ line: 11, column: 41, field: 'deploy.rollback.on_error_rate' }),
      ]),
    );
  });

  it('says so when there is no deploy.yaml', async () => {
    const empty = mkdtempSync(join(scratch, 'empty-'));
    const result = await runCli(['deploy:validate', empty], notLoggedIn());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Error [DEPLOY_SPEC_INVALID]: there is no .idp/deploy.yaml in ${empty}`);
  });

  it('deploy:schema prints the JSON Schema', async () => {
    const result = await runCli(['deploy:schema'], notLoggedIn());
    expect(result.code, result.stderr).toBe(0);
    const schema = JSON.parse(result.stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['service', 'run', 'deploy']));
  });

  it('idp deploy outside a git repository is a usage error that says so, before any request', async () => {
    const notGit = mkdtempSync(join(tmpdir(), 'idp-not-git-'));
    try {
      const result = await runCli(['deploy', '--env', 'x', '--path', notGit], {
        ...notLoggedIn(),
        IDP_URL: 'http://127.0.0.1:9',
        IDP_TOKEN: 'idp_x',
      });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`Error [USAGE]: ${notGit} is not inside a git repository\nTry this: `);
    } finally {
      rmSync(notGit, { recursive: true, force: true });
    }
  });
});

describe('idp deploy:validate checks service and team against the catalog', () => {
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer();
    env = { IDP_URL: server.url, IDP_TOKEN: server.adminToken };
  });
  afterAll(async () => server?.stop());

  it("accepts the owner's team, and points at the field with the catalog's answer otherwise", async () => {
    const write = (name: string, text: string) => {
      const dir = join(scratch, name);
      mkdirSync(join(dir, '.idp'), { recursive: true });
      writeFileSync(join(dir, '.idp', 'deploy.yaml'), text);
      return dir;
    };
    const valid = (service: string, team: string) =>
      `service:\n  name: ${service}\n  team: ${team}\nrun: {command: node server.js}\ndeploy:\n  healthcheck: {path: /health}\n`;
    const wrongTeam = write('wrong-team', valid('payments-api', 'identity'));
    const unknown = write('unknown-service', valid('nonexistent-api', 'payments'));

    const [ok, mismatch, missing] = await Promise.all([
      runCli(['deploy:validate', PAYMENTS_DIR], env),
      runCli(['deploy:validate', wrongTeam], env),
      runCli(['deploy:validate', unknown, '-o', 'json'], env),
    ]);

    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('✓ payments-api is in the catalog, owned by payments.');

    expect(mismatch.code).toBe(2);
    expect(mismatch.stdout).toMatch(
      /wrong-team\/\.idp\/deploy\.yaml:3:9 {2}service\.team: "identity" does not own payments-api in the catalog \(its owner is group:(default\/)?payments\) \(expected payments, the owner in the catalog\) did you mean "payments"\?/,
    );
    expect(mismatch.stderr).toContain('Error [DEPLOY_TEAM_MISMATCH]');

    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      valid: false,
      catalogChecked: true,
      problems: [
        { line: 2, column: 9, field: 'service.name', message: '"nonexistent-api" is not a Component in the catalog' },
      ],
    });
  });

  it('skips the check with a note when the control plane cannot be reached', async () => {
    const result = await runCli(['deploy:validate', PAYMENTS_DIR], {
      ...notLoggedIn(),
      IDP_URL: 'http://127.0.0.1:9',
      IDP_TOKEN: 'idp_x',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /skipped the catalog check of service and team: cannot reach the control plane .*\[SERVER_UNREACHABLE\]/,
    );
  });
});
