import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IdpError } from '@idp/contracts';
import { loadConfig, parseConfig } from './load.ts';

// idp.config.yaml as the control plane reads it at start-up: what a missing setting becomes, and
// what a mistake in the file is reported as (CONFIG_INVALID naming the file and the field).

const FILE = '/etc/idp/idp.config.yaml';
const failure = (fn: () => unknown): IdpError => {
  try {
    fn();
  } catch (err) {
    return err as IdpError;
  }
  throw new Error('expected an error');
};

describe('config loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an empty file (or one with only comments) is every default', () => {
    for (const text of ['', '# nothing set yet\n', '---\n']) {
      const { config } = parseConfig(text, FILE);
      expect(config).toMatchObject({
        organization: { name: 'idp' },
        auth: { adminGroup: 'platform', tokenTtl: '30d', rateLimit: { unauthenticatedPerMinute: 60, burst: 20 } },
        catalog: { locations: [], refreshInterval: '5m', oncall: {} },
        access: { pendingTtl: '24h', defaultDuration: '1h', sweepInterval: '30s' },
        secrets: { productionEnvironments: expect.any(Array) },
        policies: { paths: [], replaceDefaults: false },
      });
      expect(config.postgres.adminUrl).toBeUndefined();
      expect(config.redis.url).toBeUndefined();
    }
  });

  it('a section given in part keeps the defaults of the keys it leaves out', () => {
    const { config } = parseConfig('auth:\n  tokenTtl: 7d\n  rateLimit:\n    burst: 5\n', FILE);
    expect(config.auth).toEqual({
      adminGroup: 'platform',
      tokenTtl: '7d',
      rateLimit: { unauthenticatedPerMinute: 60, burst: 5 },
    });
  });

  it('a missing file is CONFIG_INVALID naming the absolute path, with a hint', () => {
    const missing = join(dir, 'nope.yaml');
    const err = failure(() => loadConfig(relative(process.cwd(), missing)));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { file: missing } });
    expect(err.message).toContain(`cannot read config file ${missing}: ENOENT`);
    expect(err.details?.hint).toContain('IDP_CONFIG');
  });

  it('a relative path is made absolute, and the file’s folder is where relative settings resolve', () => {
    const org = join(dir, 'org');
    mkdirSync(org);
    writeFileSync(join(org, 'idp.config.yaml'), 'organization:\n  name: acme\n');
    const loaded = loadConfig(relative(process.cwd(), join(org, 'idp.config.yaml')));
    expect(loaded).toMatchObject({ path: join(org, 'idp.config.yaml'), baseDir: org });
    expect(loaded.config.organization.name).toBe('acme');
  });

  it('relative policy paths resolve against the config file’s folder, not the working directory', async () => {
    const { policySourcesFor } = await import('./policies.ts');
    const org = join(dir, 'policies-org');
    mkdirSync(join(org, 'extra'), { recursive: true });
    writeFileSync(
      join(org, 'extra', 'b.cedar'),
      '@id("b")\npermit (principal, action == Action::"policy:check", resource);\n',
    );
    writeFileSync(
      join(org, 'extra', 'a.cedar'),
      '@id("a")\npermit (principal, action == Action::"policy:check", resource);\n',
    );
    writeFileSync(join(org, 'extra', 'notes.txt'), 'not a policy');
    writeFileSync(join(org, 'idp.config.yaml'), 'policies:\n  paths: [./extra]\n  replaceDefaults: true\n');
    const sources = policySourcesFor(loadConfig(join(org, 'idp.config.yaml')));
    expect(sources.policies.map((p) => p.text.match(/@id\("(\w)"\)/)?.[1])).toEqual(['a', 'b']);

    writeFileSync(join(org, 'idp.config.yaml'), 'policies:\n  paths: [./missing.cedar]\n');
    const err = failure(() => policySourcesFor(loadConfig(join(org, 'idp.config.yaml'))));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { field: 'policies.paths' } });
    expect(err.message).toContain(join(org, 'missing.cedar'));
  });

  it('an unknown key is an error naming the file, the section and the key', () => {
    const err = failure(() => parseConfig('auth:\n  adminGroup: platform\n  tokenTTL: 7d\n', FILE));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { file: FILE } });
    expect(err.message).toContain(FILE);
    expect(err.message).toContain('tokenTTL');
    expect(err).toMatchObject({ details: { field: 'auth.tokenTTL', line: 3, column: 3, didYouMean: 'tokenTtl' } });
    expect(err.message).toBe(`${FILE}:3:3: field auth.tokenTTL: unknown key "tokenTTL" (did you mean "tokenTtl"?)`);
    expect(String(err.details?.hint)).toMatch(/Keys accepted under auth: .*adminGroup.*tokenTtl/);
    const top = failure(() => parseConfig('organisation:\n  name: acme\n', FILE));
    expect(top).toMatchObject({ code: 'CONFIG_INVALID', details: { field: 'organisation', line: 1, column: 1 } });
    expect(top.details?.didYouMean).toBe('organization');
    const far = failure(() => parseConfig('auth:\n  adminGroup: platform\nzzz: 1\n', FILE));
    expect(far.details).toMatchObject({ field: 'zzz', didYouMean: undefined });
    expect(String(far.details?.hint)).toContain('Keys accepted under the top level:');
  });

  it('a wrong value is reported at its own line and column', () => {
    const err = failure(() => parseConfig('organization:\n  name: acme\nauth:\n  rateLimit:\n    burst: many\n', FILE));
    expect(err.details).toMatchObject({ field: 'auth.rateLimit.burst', line: 5, column: 12 });
    expect(err.message).toMatch(new RegExp(`^${FILE}:5:12: field auth.rateLimit.burst: `));
  });

  it('a value of the wrong type or shape names the field and what was expected', () => {
    const cases: [string, string, RegExp][] = [
      ['auth:\n  tokenTtl: 5\n', 'auth.tokenTtl', /expected string/],
      ['auth:\n  tokenTtl: 5 minutes\n', 'auth.tokenTtl', /a duration such as 30d/],
      ['auth:\n  rateLimit:\n    burst: many\n', 'auth.rateLimit.burst', /expected number/],
      ['auth:\n  rateLimit:\n    burst: 0\n', 'auth.rateLimit.burst', />=1|at least 1|too small/i],
      ['auth:\n  adminGroup: Platform Admins\n', 'auth.adminGroup', /DNS-1123/],
      ['catalog:\n  locations: ./catalog\n', 'catalog.locations', /expected array/],
      ['policies:\n  replaceDefaults: "yes"\n', 'policies.replaceDefaults', /expected boolean/],
      ['- a list\n- not a mapping\n', '(root)', /expected object/],
    ];
    for (const [text, field, message] of cases) {
      const err = failure(() => parseConfig(text, FILE));
      expect(err, text).toMatchObject({ code: 'CONFIG_INVALID', details: { file: FILE, field } });
      expect(err.message, text).toContain(`field ${field}`);
      expect(err.message, text).toMatch(message);
    }
  });

  it('every problem is listed in the details, not only the first', () => {
    const err = failure(() => parseConfig('auth:\n  tokenTtl: 5\n  adminGroup: 42x_BAD\n', FILE));
    const fields = (err.details?.issues as { field: string }[]).map((i) => i.field).sort();
    expect(fields).toEqual(['auth.adminGroup', 'auth.tokenTtl']);
  });

  it('a YAML syntax error names file:line:column', () => {
    const err = failure(() => parseConfig('organization:\n  name: acme\nauth:\n  adminGroup: [platform\n', FILE));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { file: FILE, line: expect.any(Number) } });
    expect(err.message).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: not valid YAML`));
  });

  it('a key given twice is an error, not a silent override', () => {
    const err = failure(() => parseConfig('auth:\n  tokenTtl: 7d\n  tokenTtl: 90d\n', FILE));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { line: 3 } });
    expect(err.message).toMatch(new RegExp(`^${FILE}:3:\\d+: not valid YAML`));
  });
  it('an alias bomb is refused as CONFIG_INVALID, before anything expands it', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 9; i++) {
      const prev = i === 0 ? 'a' : `b${i - 1}`;
      lines.push(`b${i}: &b${i} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const started = performance.now();
    const err = failure(() => parseConfig(lines.join('\n'), FILE));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { file: FILE } });
    expect(err.message).toMatch(new RegExp(`^${FILE}: aliases expand the file to too many values`));
    // More than 100 aliases: refused at the first one over, by line and column.
    const many = failure(() => parseConfig(`a: &a x\nb: [${Array(101).fill('*a').join(', ')}]\n`, FILE));
    expect(many).toMatchObject({ code: 'CONFIG_INVALID', details: { line: 2 } });
    expect(many.message).toMatch(new RegExp(`^${FILE}:2:\\d+: .*alias count limit`));
    // A few aliases (a shared list, say) are fine.
    const ok = parseConfig('secrets:\n  productionEnvironments: &prod [production]\ncatalog:\n  locations: []\n', FILE);
    expect(ok.config.secrets.productionEnvironments).toEqual(['production']);
  });

  it('a file over 1 MiB is refused before it is parsed', () => {
    const big = `organization:\n  name: acme\n# ${'x'.repeat(1024 * 1024)}\n`;
    const err = failure(() => parseConfig(big, FILE));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { file: FILE } });
    expect(err.message).toMatch(/size limit/);
    expect(parseConfig(`organization:\n  name: acme\n# ${'x'.repeat(100_000)}\n`, FILE).config.organization.name).toBe(
      'acme',
    );
  });

  it('deep nesting is refused, not a stack overflow', () => {
    const deep = `catalog:\n  oncall: ${'['.repeat(200)}${']'.repeat(200)}\n`;
    const err = failure(() => parseConfig(deep, FILE));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(err.message).toMatch(/nesting depth limit/);
  });

  it('observability: defaults, the per-team views shape, and bad selectors named by field', () => {
    const { config } = parseConfig('', FILE);
    expect(config.observability).toMatchObject({
      prometheus: { binary: 'prometheus', listen: '127.0.0.1:9091', scrapeInterval: '15s' },
      query: { maxQueryBytes: 4096, maxPoints: 11_000 },
      logs: { maxFileMiB: 10, maxFiles: 5 },
      teams: [],
    });
    const views = parseConfig(
      [
        'observability:',
        '  teams:',
        '    - name: payments',
        '      members: [alice, bob, carol]',
        '      views:',
        '        dashboards:',
        '          - payments-*',
        '        logs:',
        '          paths:',
        '            - namespace=payments-*',
        '',
      ].join('\n'),
      FILE,
    );
    expect(views.config.observability.teams).toEqual([
      {
        name: 'payments',
        members: ['alice', 'bob', 'carol'],
        views: { dashboards: ['payments-*'], logs: { paths: ['namespace=payments-*'] } },
      },
    ]);
    const bad = failure(() =>
      parseConfig(
        'observability:\n  teams:\n    - name: payments\n      views:\n        logs:\n          paths: [team=x]\n',
        FILE,
      ),
    );
    expect(bad.details).toMatchObject({ field: 'observability.teams[0].views.logs.paths[0]', line: 6 });
  });
});
