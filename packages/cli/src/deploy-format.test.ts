import { describe, expect, it } from 'vitest';
import type { Deployment, DeploymentStep, Release } from '@idp/contracts';
import type { DeploySpec } from '@idp/core';
import {
  buildOutputOf,
  catalogProblems,
  followRollout,
  formatBytes,
  formatDeployment,
  formatErrorRate,
  formatOutcome,
  formatPause,
  formatPlan,
  formatProgress,
  formatRelease,
  formatStepEnd,
  formatStrategy,
  formatValid,
  isFinished,
  outcomeExitCode,
  ownerTeam,
  problemsOf,
  RolloutReporter,
  stepErrorRate,
  yamlPosition,
  type DeploymentWatcher,
} from './deploy-format.ts';

const step = (index: number, weight: number, over: Partial<DeploymentStep> = {}): DeploymentStep => ({
  index,
  weight,
  pauseSeconds: weight === 100 ? null : 300,
  outcome: null,
  startedAt: null,
  endedAt: null,
  requests: 0,
  errors: 0,
  errorRate: null,
  healthFailures: 0,
  ...over,
});

const deployment = (over: Partial<Deployment> = {}): Deployment => ({
  id: 'dep_1',
  service: 'payments-api',
  env: 'staging',
  namespace: 'staging-payments',
  version: '7761f2bbd4ec-443679efa03c',
  previousVersion: '1111aaaa2222-bbbb3333cccc',
  kind: 'deploy',
  strategy: 'canary',
  status: 'progressing',
  reason: null,
  step: 0,
  weight: 10,
  createdAt: '2025-03-01T12:00:00.123Z',
  createdBy: 'alice@company.com',
  finishedAt: null,
  url: 'http://payments-api.staging-payments.localhost:7080',
  steps: [
    step(0, 10, { startedAt: '2025-03-01T12:00:01.000Z', requests: 37, errors: 0, errorRate: 0 }),
    step(1, 50, { pauseSeconds: 600 }),
    step(2, 100),
  ],
  figures: null,
  ...over,
});

const spec = (over: Partial<DeploySpec['deploy']> = {}): DeploySpec => ({
  service: { name: 'payments-api', team: 'payments' },
  build: null,
  run: { command: 'node server.js', replicas: 2 },
  deploy: {
    strategy: 'canary',
    canary: [
      { weight: 10, pauseSeconds: 300 },
      { weight: 50, pauseSeconds: null },
      { weight: 100, pauseSeconds: null },
    ],
    healthcheck: { path: '/health', intervalSeconds: 10, threshold: 3 },
    rollback: { auto: true, maxErrorRate: 0.01, minRequests: 20 },
    ...over,
  },
});

describe('figures', () => {
  it('formats error rates as percentages, and nothing measured as -', () => {
    expect(formatErrorRate(0.0083)).toBe('0.83%');
    expect(formatErrorRate(0)).toBe('0.00%');
    expect(formatErrorRate(null)).toBe('-');
  });

  it("takes the server's error rate, else works it out once there were requests", () => {
    expect(stepErrorRate(step(0, 10, { requests: 200, errors: 10, errorRate: 0.05 }))).toBe(0.05);
    expect(stepErrorRate(step(0, 10, { requests: 200, errors: 10 }))).toBe(0.05);
    expect(stepErrorRate(step(0, 10))).toBeNull();
  });

  it('writes pauses as deploy.yaml does, and sizes in kB/MB', () => {
    expect([formatPause(300), formatPause(90), formatPause(7200), formatPause(null)]).toEqual(['5m', '90s', '2h', '-']);
    expect([formatBytes(512), formatBytes(51_200), formatBytes(3_400_000)]).toEqual(['512 B', '51.2 kB', '3.4 MB']);
  });
});

describe('live progress', () => {
  it("shows step i/n, weight, health and the canary's requests and error rate", () => {
    expect(formatProgress(deployment())).toBe(
      'step 1/3  weight 10% for 5m  health ok  canary: 37 requests, 0 errors (0.00%)',
    );
    const failing = deployment({ steps: [step(0, 10, { requests: 1, errors: 1, healthFailures: 2 }), step(1, 100)] });
    expect(formatProgress(failing)).toBe(
      'step 1/2  weight 10% for 5m  health 2 failed checks in a row  canary: 1 request, 1 error (100.00%)',
    );
  });

  it('says how to go on when paused, and what is about to start when pending', () => {
    const paused = deployment({
      status: 'paused',
      step: 1,
      weight: 50,
      steps: [step(0, 10, { outcome: 'passed' }), step(1, 50, { pauseSeconds: null }), step(2, 100)],
    });
    expect(formatProgress(paused)).toBe(
      'step 2/3  weight 50%  health ok  canary: 0 requests, 0 errors (-)  paused: run `idp deploy:promote dep_1` to go on (or deploy:abort)',
    );
    expect(formatProgress(deployment({ status: 'pending', step: null, weight: 0 }))).toBe(
      'pending: the canary rollout of 7761f2bbd4ec-443679efa03c is about to start',
    );
  });

  it('shows the weight alone for a rollout without steps', () => {
    expect(formatProgress(deployment({ strategy: 'rolling', step: null, weight: 100, steps: [] }))).toBe('weight 100%');
  });

  it('marks a finished step by its outcome', () => {
    const d = deployment();
    expect(formatStepEnd(d, step(0, 10, { outcome: 'passed', requests: 120, errors: 1, errorRate: 1 / 120 }))).toBe(
      '✓ step 1/3 passed  weight 10%  health ok  120 requests, 1 error (0.83%)',
    );
    expect(formatStepEnd(d, step(1, 50, { outcome: 'failed', requests: 200, errors: 10, errorRate: 0.05 }))).toBe(
      '✗ step 2/3 failed  weight 50%  health ok  200 requests, 10 errors (5.00%)',
    );
  });

  it('prints each change once, step ends before the new state, throttling figures-only changes', () => {
    const lines: string[] = [];
    let now = 0;
    const reporter = new RolloutReporter((line) => lines.push(line), { figuresEveryMs: 5000, now: () => now });
    const at = (requests: number) =>
      deployment({ steps: [step(0, 10, { requests, errorRate: 0 }), step(1, 50), step(2, 100)] });

    reporter.update(at(10));
    reporter.update(at(10)); // nothing changed
    now = 1000;
    reporter.update(at(20)); // figures only, too soon
    now = 6000;
    reporter.update(at(30)); // figures only, late enough
    now = 6500;
    const next = deployment({
      step: 1,
      weight: 50,
      steps: [
        step(0, 10, { outcome: 'passed', requests: 40, errorRate: 0 }),
        step(1, 50, { pauseSeconds: 600, requests: 1, errorRate: 0 }),
        step(2, 100),
      ],
    });
    reporter.update(next); // a new step: at once
    reporter.update(next);
    reporter.update({
      ...next,
      status: 'healthy',
      step: null,
      weight: 100,
      steps: next.steps.map((s) => ({ ...s, outcome: 'passed' })),
    });

    expect(lines).toEqual([
      'step 1/3  weight 10% for 5m  health ok  canary: 10 requests, 0 errors (0.00%)',
      'step 1/3  weight 10% for 5m  health ok  canary: 30 requests, 0 errors (0.00%)',
      '✓ step 1/3 passed  weight 10%  health ok  40 requests, 0 errors (0.00%)',
      'step 2/3  weight 50% for 10m  health ok  canary: 1 request, 0 errors (0.00%)',
      '✓ step 2/3 passed  weight 50%  health ok  1 request, 0 errors (0.00%)',
      '✓ step 3/3 passed  weight 100%  health ok  0 requests, 0 errors (-)',
    ]);
  });

  it('prints a health change at once', () => {
    const lines: string[] = [];
    const reporter = new RolloutReporter((line) => lines.push(line), { now: () => 0 });
    reporter.update(deployment());
    reporter.update(
      deployment({
        steps: [step(0, 10, { requests: 37, errorRate: 0, healthFailures: 1 }), step(1, 50), step(2, 100)],
      }),
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('health 1 failed check in a row');
  });
});

describe('the end of a rollout', () => {
  it('is finished once healthy, rolled back, aborted or failed; only healthy exits 0', () => {
    expect(
      ['pending', 'progressing', 'paused', 'healthy', 'rolled_back', 'aborted', 'failed'].map((status) =>
        isFinished(deployment({ status: status as Deployment['status'] })),
      ),
    ).toEqual([false, false, false, true, true, true, true]);
    expect(outcomeExitCode(deployment({ status: 'healthy' }))).toBe(0);
    for (const status of ['rolled_back', 'aborted', 'failed'] as const)
      expect(outcomeExitCode(deployment({ status }))).toBe(1);
  });

  it('says what happened and why', () => {
    expect(formatOutcome(deployment({ status: 'healthy' }))).toBe(
      '✓ payments-api 7761f2bbd4ec-443679efa03c in staging is healthy and takes all traffic at http://payments-api.staging-payments.localhost:7080',
    );
    expect(
      formatOutcome(
        deployment({ status: 'rolled_back', reason: 'error rate 5.00% above 1% at step 1 (200 requests)' }),
      ),
    ).toBe(
      '✗ payments-api 7761f2bbd4ec-443679efa03c in staging was rolled back (1111aaaa2222-bbbb3333cccc keeps serving): error rate 5.00% above 1% at step 1 (200 requests)',
    );
    expect(formatOutcome(deployment({ status: 'failed', previousVersion: null, reason: null }))).toBe(
      '✗ payments-api 7761f2bbd4ec-443679efa03c in staging failed: no reason given',
    );
  });

  it("shows the deployment's fields, then each step with its figures", () => {
    const d = deployment({
      status: 'rolled_back',
      reason: 'error rate above 1%',
      step: null,
      weight: 0,
      finishedAt: '2025-03-01T12:05:00.000Z',
      figures: { errorRate: 0.05, requests: 200, p99Ms: 12.34567 },
      steps: [
        step(0, 10, { outcome: 'passed', startedAt: 'x', endedAt: 'y', requests: 120, errors: 1, errorRate: 1 / 120 }),
        step(1, 50, {
          outcome: 'failed',
          startedAt: 'x',
          endedAt: 'y',
          requests: 200,
          errors: 10,
          errorRate: 0.05,
          healthFailures: 1,
        }),
        step(2, 100),
      ],
    });
    expect(formatDeployment(d)).toBe(
      [
        'id:        dep_1',
        'service:   payments-api',
        'env:       staging',
        'version:   7761f2bbd4ec-443679efa03c',
        'previous:  1111aaaa2222-bbbb3333cccc',
        'strategy:  canary',
        'status:    rolled_back',
        'reason:    error rate above 1%',
        'weight:    0%',
        'url:       http://payments-api.staging-payments.localhost:7080',
        'created:   2025-03-01T12:00:00Z by alice@company.com',
        'finished:  2025-03-01T12:05:00Z',
        'figures:   errorRate=5.00%, requests=200, p99Ms=12.35',
        '',
        'STEP  WEIGHT  PAUSE  OUTCOME  REQUESTS  ERRORS  ERROR RATE  HEALTH',
        '1/3   10%     5m     passed   120       1       0.83%       ok',
        '2/3   50%     5m     failed   200       10      5.00%       1 failed check in a row',
        '3/3   100%    -      -        0         0       -           -',
        '',
      ].join('\n'),
    );
  });

  it("describes the plan from the rollout's steps", () => {
    expect(formatPlan(deployment())).toBe('canary 10% for 5m → 50% for 10m → 100%');
    expect(formatPlan(deployment({ strategy: 'recreate', steps: [] }))).toBe('recreate');
  });

  it('describes a release', () => {
    const release: Release = {
      version: '7761f2bbd4ec-443679efa03c',
      service: 'payments-api',
      commit: '7761f2bb',
      digest: 'sha256:x',
      sizeBytes: 51_200,
      status: 'built',
      createdAt: 'x',
      createdBy: 'alice',
      buildMs: 4200,
      buildOutput: null,
      spec: {},
      inferred: [],
    };
    expect(formatRelease(release)).toBe('Release 7761f2bbd4ec-443679efa03c of payments-api (51.2 kB, built in 4.2s)');
    expect(formatRelease({ ...release, buildMs: null })).toBe(
      'Release 7761f2bbd4ec-443679efa03c of payments-api (51.2 kB, no build command)',
    );
  });
});

describe('followRollout', () => {
  it('reports every read until the rollout ends and resolves with the last one', async () => {
    const reads = [
      deployment({ steps: [step(0, 10, { requests: 5, errorRate: 0 }), step(1, 100)] }),
      deployment({
        status: 'healthy',
        step: null,
        weight: 100,
        steps: [step(0, 10, { outcome: 'passed' }), step(1, 100, { outcome: 'promoted' })],
      }),
    ];
    const api: DeploymentWatcher = {
      async watchDeployment(id, opts) {
        expect(id).toBe('dep_1');
        for (const read of reads) {
          opts.onUpdate?.(read);
          if (opts.until(read)) return read;
        }
        throw new Error('never finished');
      },
    };
    const lines: string[] = [];
    const final = await followRollout(
      api,
      deployment({ status: 'pending', step: null, weight: 0 }),
      (line) => lines.push(line),
      { now: () => 0 },
    );
    expect(final?.status).toBe('healthy');
    expect(lines).toEqual([
      'pending: the canary rollout of 7761f2bbd4ec-443679efa03c is about to start',
      'step 1/2  weight 10% for 5m  health ok  canary: 5 requests, 0 errors (0.00%)',
      '✓ step 1/2 passed  weight 10%  health ok  0 requests, 0 errors (-)',
      '✓ step 2/2 promoted  weight 100%  health ok  0 requests, 0 errors (-)',
    ]);
  });

  it('does not poll a rollout that has already ended, and resolves undefined when stopped', async () => {
    const never: DeploymentWatcher = { watchDeployment: () => Promise.reject(new Error('should not poll')) };
    expect((await followRollout(never, deployment({ status: 'aborted' }), () => {}))?.status).toBe('aborted');

    const controller = new AbortController();
    const waiting: DeploymentWatcher = {
      watchDeployment: (_id, opts) =>
        new Promise((_resolve, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason))),
    };
    const following = followRollout(waiting, deployment(), () => {}, { signal: controller.signal });
    controller.abort();
    await expect(following).resolves.toBeUndefined();
  });
});

describe('deploy.yaml validation output', () => {
  it('summarises a valid file: service, team and strategy', () => {
    expect(formatValid('.idp/deploy.yaml', spec())).toBe(
      '✓ .idp/deploy.yaml is valid (service payments-api, team payments, strategy canary 10% for 5m → 50% until promoted → 100%)',
    );
    expect(formatStrategy(spec({ strategy: 'rolling', canary: [] }))).toBe('rolling');
  });

  it('reads the team off every form of owner ref', () => {
    expect(
      ['group:default/payments', 'group:payments', 'payments', 'default/payments', 'Group:Default/Payments'].map(
        ownerTeam,
      ),
    ).toEqual(Array(5).fill('payments'));
    expect(ownerTeam('user:default/alice')).toBeUndefined();
    expect(ownerTeam('group:other/payments')).toBeUndefined();
  });

  it('places catalog problems on the service and team fields', () => {
    const at = { name: { line: 2, column: 17 }, team: { line: 2, column: 37 } };
    expect(catalogProblems('.idp/deploy.yaml', spec(), { found: true, owner: 'group:default/payments' }, at)).toEqual(
      [],
    );
    expect(catalogProblems('.idp/deploy.yaml', spec(), { found: false }, at)).toEqual([
      expect.objectContaining({
        file: '.idp/deploy.yaml',
        line: 2,
        column: 17,
        field: 'service.name',
        message: '"payments-api" is not a Component in the catalog',
      }),
    ]);
    expect(catalogProblems('.idp/deploy.yaml', spec(), { found: true, owner: 'group:identity' }, at)).toEqual([
      expect.objectContaining({
        line: 2,
        column: 37,
        field: 'service.team',
        message: '"payments" does not own payments-api in the catalog (its owner is group:identity)',
        expected: 'identity, the owner in the catalog',
        didYouMean: 'identity',
      }),
    ]);
  });

  it("finds where a field's value is in the YAML text", async () => {
    const text = '# deploy\nservice: {name: payments-api, team: payments}\nrun:\n  command: node server.js\n';
    expect(await yamlPosition(text, ['service', 'name'])).toEqual({ line: 2, column: 17 });
    expect(await yamlPosition(text, ['service', 'team'])).toEqual({ line: 2, column: 37 });
    expect(await yamlPosition(text, ['run', 'command'])).toEqual({ line: 4, column: 12 });
  });

  it('takes the problems and build output out of server errors only when they have the right shape', () => {
    const problem = {
      file: '.idp/deploy.yaml',
      line: 3,
      column: 1,
      field: 'deploy',
      message: 'is required',
      expected: 'a mapping',
    };
    expect(problemsOf({ problems: [problem] })).toEqual([problem]);
    expect(problemsOf({ problems: [{ message: 'x' }] })).toBeUndefined();
    expect(problemsOf({})).toBeUndefined();
    expect(buildOutputOf({ output: 'npm ERR! missing script\nexit 1\n' })).toBe(
      'Build output (tail):\n  npm ERR! missing script\n  exit 1',
    );
    expect(buildOutputOf({ output: '  ' })).toBeUndefined();
  });
});
