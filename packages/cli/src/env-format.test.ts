import { describe, expect, it } from 'vitest';
import type { Environment, EnvironmentStep } from '@idp/contracts';
import { formatAge } from '@idp/core/durations';
import {
  ENVIRONMENT_VIEW_FIELDS,
  environmentView,
  expiresIn,
  exportLines,
  formatElapsed,
  formatEnvironment,
  formatStepLine,
  pullRequestOf,
  shellQuote,
  StepReporter,
} from './env-format.ts';

const step = (
  name: string,
  status: EnvironmentStep['status'],
  durationMs: number | null,
  detail: string | null = null,
  error: string | null = null,
): EnvironmentStep => ({
  name,
  status,
  startedAt: status === 'pending' ? null : '2025-03-01T12:00:00.000Z',
  finishedAt: durationMs === null ? null : '2025-03-01T12:00:01.200Z',
  durationMs,
  attempts: status === 'pending' ? 0 : 1,
  detail,
  error,
});

const env = (over: Partial<Environment> = {}): Environment => ({
  name: 'feature-payments',
  kind: 'ephemeral',
  sourceEnv: 'staging',
  owner: 'alice@company.com',
  ownerRef: 'user:default/alice',
  team: 'group:default/payments',
  tier: 'staging',
  status: 'ready',
  ttl: '7d',
  createdAt: '2025-03-01T12:00:00.123Z',
  readyAt: '2025-03-01T12:00:03.523Z',
  expiresAt: '2025-03-08T12:00:00.123Z',
  deletedAt: null,
  provisioningMs: 3400,
  resources: {
    namespace: 'feature-payments-alice',
    database: 'pg-feature-payments',
    redis: 'redis-feature-payments',
    secrets: 'copied from staging vault',
  },
  endpoints: {
    database: { host: '127.0.0.1', port: 5432, database: 'pg-feature-payments', user: 'pg-feature-payments' },
    redis: {
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      user: 'redis-feature-payments',
      keyPrefix: 'redis-feature-payments:',
    },
  },
  steps: [
    step('namespace', 'done', 12, 'created feature-payments-alice'),
    step('database', 'done', 1200, 'cloned from staging snapshot'),
    step('redis', 'done', 300, 'copied 42 keys'),
    step('secrets', 'done', 40, 'copied 3 secrets'),
  ],
  error: null,
  secrets: 'copy',
  preview: null,
  ...over,
});

describe('environmentView', () => {
  it("has the issue's field names, in its order, then the extras", () => {
    const view = environmentView(env());
    expect(Object.keys(view)).toEqual([...ENVIRONMENT_VIEW_FIELDS]);
    expect(view).toMatchObject({
      name: 'feature-payments',
      source_env: 'staging',
      owner: 'alice@company.com',
      ttl: '7d',
      resources: {
        namespace: 'feature-payments-alice',
        database: 'pg-feature-payments',
        redis: 'redis-feature-payments',
        secrets: 'copied from staging vault',
      },
      status: 'ready',
      created_at: '2025-03-01T12:00:00.123Z',
      expires_at: '2025-03-08T12:00:00.123Z',
      provisioning_time: '3.4s',
    });
    expect(view.steps[1]).toEqual({
      name: 'database',
      status: 'done',
      duration: '1.2s',
      duration_ms: 1200,
      attempts: 1,
      started_at: '2025-03-01T12:00:00.000Z',
      finished_at: '2025-03-01T12:00:01.200Z',
      detail: 'cloned from staging snapshot',
      error: null,
    });
  });

  it('has no provisioning time until ready', () => {
    expect(environmentView(env({ status: 'provisioning', provisioningMs: null })).provisioning_time).toBeNull();
  });
});

describe('formatEnvironment', () => {
  it("a pull request's preview with placeholder secrets: marked after the issue's block", () => {
    const preview = env({
      owner: 'group:payments',
      secrets: 'placeholders',
      preview: { repo: 'acme/payments', number: 12 },
    });
    const lines = formatEnvironment(preview).trimEnd().split('\n');
    expect(lines.slice(-2)).toEqual([
      'preview: acme/payments#12',
      "secrets_mode: placeholders (the base's secret names, none of its values)",
    ]);
    expect(environmentView(preview)).toMatchObject({
      secrets: 'placeholders',
      preview: { repo: 'acme/payments', number: 12 },
    });
    expect(pullRequestOf(preview)).toBe('acme/payments#12');
    expect(pullRequestOf(env())).toBe('-');
  });

  it("prints the issue's YAML-like block", () => {
    expect(formatEnvironment(env())).toBe(
      [
        'name: feature-payments',
        'source_env: staging',
        'owner: alice@company.com',
        'ttl: 7d',
        'resources:',
        '  namespace: feature-payments-alice',
        '  database: pg-feature-payments',
        '  redis: redis-feature-payments',
        '  secrets: copied from staging vault',
        'status: ready',
        'created_at: 2025-03-01T12:00:00Z',
        'expires_at: 2025-03-08T12:00:00Z',
        'provisioning_time: 3.4s',
        '',
      ].join('\n'),
    );
  });

  it('detailed: age, endpoints without passwords, and the steps', () => {
    const text = formatEnvironment(env(), { detailed: true, now: Date.parse('2025-03-01T14:30:00Z') });
    expect(text).toContain('age: 2h29m\n');
    expect(text).toContain(
      'endpoints:\n  database: postgres://pg-feature-payments@127.0.0.1:5432/pg-feature-payments\n  redis: redis://redis-feature-payments@127.0.0.1:6379/0 (keys redis-feature-payments:*)\n',
    );
    expect(text).toContain(
      'steps:\n  ✓ namespace    0.0s  created feature-payments-alice\n  ✓ database     1.2s  cloned from staging snapshot\n',
    );
  });

  it('failed: names the step and the error', () => {
    const failed = env({ status: 'failed', provisioningMs: null, error: { step: 'database', message: 'disk full' } });
    expect(formatEnvironment(failed)).toContain('status: failed\n');
    expect(formatEnvironment(failed)).toContain('error: database: disk full\n');
  });
});

describe('steps', () => {
  it('formats a finished and a failed step', () => {
    expect(formatStepLine(step('database', 'done', 1234, 'cloned'), 9)).toBe('✓ database     1.2s  cloned');
    expect(formatStepLine(step('redis', 'failed', 50, null, 'NOPERM\nno access'), 9)).toBe(
      '✗ redis        0.1s  NOPERM no access',
    );
  });

  it('StepReporter prints each finished step once, in order, only the phase asked for', () => {
    const lines: string[] = [];
    const reporter = new StepReporter(
      (l) => lines.push(l),
      (s) => s.name.startsWith('delete:'),
    );
    const pending = [step('delete:namespace', 'running', null), step('delete:database', 'pending', null)];
    reporter.update(env({ status: 'deleting', steps: [step('database', 'done', 5), ...pending] }));
    expect(lines).toEqual([]);
    reporter.update(
      env({
        status: 'deleting',
        steps: [
          step('database', 'done', 5),
          step('delete:namespace', 'done', 10, 'removed'),
          step('delete:database', 'running', null),
        ],
      }),
    );
    reporter.update(
      env({
        status: 'deleting',
        steps: [
          step('database', 'done', 5),
          step('delete:namespace', 'done', 10, 'removed'),
          step('delete:database', 'done', 900, 'dropped'),
        ],
      }),
    );
    expect(lines).toEqual(['✓ delete:namespace    0.0s  removed', '✓ delete:database     0.9s  dropped']);
  });
});

describe('durations', () => {
  it('elapsed and age', () => {
    expect([0, 420, 3400, 59_949, 65_000, 3_725_000].map(formatElapsed)).toEqual([
      '0.0s',
      '0.4s',
      '3.4s',
      '59.9s',
      '1m5s',
      '1h2m',
    ]);
    expect([5_000, 120_000, 7_300_000, 3 * 86_400_000].map(formatAge)).toEqual(['5s', '2m', '2h1m', '3d']);
    const now = Date.parse('2025-03-01T12:00:00Z');
    expect(expiresIn(env(), now)).toBe('in 7d');
    expect(expiresIn(env({ expiresAt: '2025-03-01T11:00:00Z' }), now)).toBe('expired');
    expect(expiresIn(env({ kind: 'base', expiresAt: null }), now)).toBe('-');
    expect(expiresIn(env({ status: 'deleted', deletedAt: '2025-03-01T11:00:00Z' }), now)).toBe('deleted');
  });
});

describe('env:connect output', () => {
  it('single-quotes every value so a shell reads it back exactly', () => {
    expect(shellQuote('it\'s $HOME `x` "y"')).toBe(`'it'\\''s $HOME \`x\` "y"'`);
    expect(exportLines({ DATABASE_URL: 'postgres://u:p@h/db', REDIS_KEY_PREFIX: 'redis-x:' })).toBe(
      "export DATABASE_URL='postgres://u:p@h/db'\nexport REDIS_KEY_PREFIX='redis-x:'\n",
    );
  });

  it('refuses a variable name a shell would run', () => {
    expect(() => exportLines({ 'X=1; rm -rf ~; Y': 'v' })).toThrow(/not a shell name/);
  });
});
