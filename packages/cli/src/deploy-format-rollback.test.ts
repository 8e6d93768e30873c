import { describe, expect, it } from 'vitest';
import type { Deployment } from '@idp/contracts';
import { formatDeployment, formatKind, formatOutcome, formatPlan, formatStart } from './deploy-format.ts';

const rollback: Deployment = {
  id: 'dep_9',
  service: 'payments-api',
  env: 'staging',
  namespace: 'staging',
  version: 'v1',
  previousVersion: 'v2',
  kind: 'rollback',
  strategy: 'canary',
  status: 'healthy',
  reason: 'every new replica is healthy; rolled back: this earlier release takes all traffic again',
  step: null,
  weight: 100,
  createdAt: '2025-01-01T12:00:00.000Z',
  createdBy: 'alice@company.com',
  finishedAt: '2025-01-01T12:00:05.000Z',
  url: 'http://payments-api.staging.localhost:7080',
  steps: [
    {
      index: 0,
      weight: 10,
      pauseSeconds: 300,
      outcome: 'skipped',
      startedAt: null,
      endedAt: null,
      requests: 0,
      errors: 0,
      errorRate: null,
      healthFailures: 0,
    },
  ],
  figures: null,
};

describe('a rollback reads as one', () => {
  it('says `rollback to <version>` where a deploy shows its strategy', () => {
    expect(formatKind(rollback)).toBe('rollback to v1');
    expect(formatKind({ ...rollback, kind: 'deploy' })).toBe('canary');
    expect(formatPlan(rollback)).toBe('rollback to v1, straight to 100% once healthy');
    expect(formatStart(rollback)).toBe(
      'Rollback dep_9: payments-api in staging back to v1 (replacing v2), straight to 100% once healthy',
    );
    expect(formatOutcome(rollback)).toBe(
      '✓ payments-api in staging is rolled back to v1, healthy and taking all traffic at http://payments-api.staging.localhost:7080',
    );
    expect(formatDeployment(rollback)).toMatch(/^strategy: +rollback to v1 \(steps skipped\)$/m);
    expect(formatDeployment({ ...rollback, kind: 'deploy' })).toMatch(/^strategy: +canary$/m);
  });
});
